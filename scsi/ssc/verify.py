"""VERIFY(6): read blocks and check them (CRC), or compare them with data-out
(BYTCMP), moving the head as READ would."""
from __future__ import annotations

from images.cartridge import Kind, MediumError

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, CheckCondition, Sense, SenseKey
from .commands import SSC
from .encryption import DecryptionRefused
from .read import read_block

VERIFY_6 = Layout("VERIFY(6)", bits("opcode", 8), reserved(2), bits("vte", 1), bits("vlbam", 1),
                  bits("vbf", 1), bits("immed", 1), bits("bytcmp", 1), bits("fixed", 1),
                  bits("verification_length", 24), *control())


@SSC.register("VERIFY(6)", 0x13, VERIFY_6, access=Access.READ)
def verify6(dev, req: Request):
    f = req.fields
    for name in ("vte", "vlbam", "vbf"):
        if f[name]:
            raise req.invalid(name)
    if f.fixed and dev.block_length == 0:
        raise req.invalid("fixed")
    part = dev.medium()
    n = f.verification_length
    if n == 0:
        return None
    if not f.fixed and n > dev.personality.max_block_length:
        raise req.invalid("verification_length")
    size = dev.block_length if f.fixed else n
    count = n if f.fixed else 1
    if size * count > 64 * 1024 * 1024:
        raise req.invalid("verification_length")
    expected = req.parameters(size * count) if f.bytcmp else None
    offset = 0
    scratch = memoryview(bytearray(size))
    for i in range(count):
        residue = (n - i) if f.fixed else n
        try:
            r = read_block(dev, part, scratch[:size])
        except MediumError:
            raise CheckCondition(Sense.of(SenseKey.MEDIUM_ERROR, Asc.UNRECOVERED_READ_ERROR,
                                          information=residue)) from None
        except DecryptionRefused as e:
            raise CheckCondition(Sense.of(SenseKey.DATA_PROTECT, e.code, information=residue)) from None
        if r.kind is None:
            raise CheckCondition(Sense.of(SenseKey.BLANK_CHECK, Asc.END_OF_DATA_DETECTED, information=residue))
        if r.kind != Kind.DATA:
            raise CheckCondition(Sense.of(SenseKey.NO_SENSE, Asc.FILEMARK_DETECTED, filemark=True,
                                          information=residue))
        if r.length != size:
            raise CheckCondition(Sense.of(SenseKey.NO_SENSE, Asc.NO_ADDITIONAL_SENSE, ili=True,
                                          information=(n - i) if f.fixed else size - r.length))
        if expected is not None and scratch[:size] != expected[offset:offset + size]:
            raise CheckCondition(Sense.of(SenseKey.MISCOMPARE, Asc.MISCOMPARE_DURING_VERIFY, information=residue))
        offset += size
    return None
