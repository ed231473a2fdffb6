"""READ(6): the data path from tape to initiator.

Residues follow SSC-4 6.4: a short block sets ILI with the unread remainder in
INFORMATION; an over-long block sets ILI with a negative INFORMATION; a
filemark sets FILEMARK and leaves the head after it; EOD is BLANK CHECK with the
head left at EOD.  Data read before the condition is still returned.

A transport with a data-in buffer (the TCMU data area) gets the block with one copy
into it; an in-process initiator that brings none gets a read-only view of the block
where it lies in the page cache, CRC-checked in place (images/cartridge/payload_file.py).
"""
from __future__ import annotations

from images.cartridge import Kind, MediumError, NoKey, WrongKey
from images.cartridge.errors import RawReadDisabled

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, CheckCondition, Sense, SenseKey
from .commands import SSC
from .encryption import DecryptionRefused, check_block
from .tapealert import TapeAlerts

READ_6 = Layout("READ(6)", bits("opcode", 8), reserved(6), bits("sili", 1), bits("fixed", 1),
                bits("transfer_length", 24), *control())


def _condition(key: SenseKey, code: tuple[int, int], info: int, data, **flags) -> CheckCondition:
    return CheckCondition(Sense.of(key, code, information=info, **flags), data)


def read_block(dev, part, buf, limit: int = 0):
    """One object into ``buf``, counting it; a CRC failure is MEDIUM ERROR, a block the
    decryption mode or key cannot deliver is DecryptionRefused (the head moves past both).
    Without ``buf``, the block's first ``limit`` bytes come back as ``data``, uncopied."""
    key, raw = dev.encryption.read_key()
    try:
        r = part.read(buf, key, raw) if buf is not None else part.read_view(limit, key, raw)
    except MediumError:
        dev.stats.read_errors += 1
        dev.load_stats.read_errors += 1
        dev.alerts.set(TapeAlerts.READ_FAILURE)
        raise
    except NoKey:
        raise DecryptionRefused(Asc.UNABLE_TO_DECRYPT_DATA) from None
    except WrongKey:
        raise DecryptionRefused(Asc.INCORRECT_DATA_ENCRYPTION_KEY) from None
    except RawReadDisabled:
        raise DecryptionRefused(Asc.ENCRYPTED_BLOCK_NOT_RAW_READ_ENABLED) from None
    if r.kind == Kind.DATA:
        check_block(dev.encryption, r.encrypted)
        for s in (dev.stats, dev.load_stats):
            s.host_bytes_read += r.copied
            s.medium_bytes_read += r.stored
            s.blocks_read += 1
        dev.cartridge.count_read(r.copied)
    return r


@SSC.register("READ(6)", 0x08, READ_6, access=Access.READ)
def read6(dev, req: Request):
    f = req.fields
    if f.sili and f.fixed:
        raise req.invalid("sili")
    if f.fixed and dev.block_length == 0:
        raise req.invalid("fixed")
    part = dev.medium()
    n = f.transfer_length
    if n == 0:
        return None
    try:
        if f.fixed:
            return _read_fixed(dev, req, part, n)
        return _read_variable(dev, req, part, n, f.sili)
    except MediumError:
        raise _condition(SenseKey.MEDIUM_ERROR, Asc.UNRECOVERED_READ_ERROR, n, None) from None
    except DecryptionRefused as e:
        raise _condition(SenseKey.DATA_PROTECT, e.code, n, None) from None


def _read_variable(dev, req: Request, part, n: int, sili: bool):
    if n > dev.personality.max_block_length:
        raise req.invalid("transfer_length")
    if req.has_buffer:
        buf = req.buffer(n)
        r = read_block(dev, part, buf)
    else:                                     # an in-process initiator: no copy at all
        r = read_block(dev, part, None, n)
        buf = r.data
    if r.kind is None:
        raise _condition(SenseKey.BLANK_CHECK, Asc.END_OF_DATA_DETECTED, n, None)
    if r.kind == Kind.FILEMARK:
        raise _condition(SenseKey.NO_SENSE, Asc.FILEMARK_DETECTED, n, None, filemark=True)
    if r.kind == Kind.SETMARK:
        raise _condition(SenseKey.NO_SENSE, Asc.SETMARK_DETECTED, n, None, filemark=True)
    if r.length == n:
        return buf
    if r.length < n:
        if sili:
            return buf[: r.length]
        raise _condition(SenseKey.NO_SENSE, Asc.NO_ADDITIONAL_SENSE, n - r.length, buf[: r.length], ili=True)
    # Over-long block: SILI suppresses it only in variable-block mode.
    if sili and dev.block_length == 0:
        return buf
    raise _condition(SenseKey.NO_SENSE, Asc.NO_ADDITIONAL_SENSE, n - r.length, buf, ili=True)


def _read_fixed(dev, req: Request, part, count: int):
    bs = dev.block_length
    if count * bs > 64 * 1024 * 1024:
        raise req.invalid("transfer_length")
    buf = req.buffer(count * bs)
    for i in range(count):
        r = read_block(dev, part, buf[i * bs:(i + 1) * bs])
        done = buf[: i * bs]
        if r.kind is None:
            raise _condition(SenseKey.BLANK_CHECK, Asc.END_OF_DATA_DETECTED, count - i, done)
        if r.kind != Kind.DATA:
            raise _condition(SenseKey.NO_SENSE, Asc.FILEMARK_DETECTED, count - i, done, filemark=True)
        if r.length != bs:
            raise _condition(SenseKey.NO_SENSE, Asc.NO_ADDITIONAL_SENSE, count - i,
                             buf[: i * bs + r.copied], ili=True)
    return buf
