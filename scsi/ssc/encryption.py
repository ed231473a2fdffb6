"""Tape data encryption: SECURITY PROTOCOL IN and OUT with protocol 20h (SSC-4 8.5), the
application-managed encryption of LTO-4 and later drives.

A host (a backup application, or `stenc`) sets a key with the Set Data Encryption page;
from then on the drive seals every data block it writes (AES-256-GCM, after
compression) and opens the blocks it reads.  The drive keeps one set of parameters for
every I_T nexus (the public parameters: scope ALL I_T NEXUS, or PUBLIC to use them);
LOCAL scope, LOCK and the keys cleared on reservation events are not offered, and the
capability pages say so.  Keys live in the drive only: a power cycle, a logical unit
reset, or an unload with CKOD forgets them.

What a READ meets, and answers (SSC-4 4.2.27, DATA PROTECT):

* encrypted block, decryption off: 74/01 UNABLE TO DECRYPT DATA;
* encrypted block, another key: 74/03 INCORRECT DATA ENCRYPTION KEY;
* plain block while decrypting (not MIXED): 74/02 UNENCRYPTED DATA ENCOUNTERED WHILE DECRYPTING;
* RAW mode: the block as sealed on the medium, unless it was written "protect":
  74/0A ENCRYPTED BLOCK NOT RAW READ ENABLED.

The head moves past a block that cannot be delivered, as it does past a CRC failure.
"""
from __future__ import annotations

from dataclasses import dataclass

from images.cartridge import DataKey

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..nexus import Nexus
from ..sense import Asc, parameter_list_length_error
from .commands import SSC

SPIN = Layout("SECURITY PROTOCOL IN", bits("opcode", 8), bits("security_protocol", 8),
              bits("security_protocol_specific", 16), bits("inc_512", 1), reserved(7), reserved(8),
              bits("allocation_length", 32), reserved(8), *control())
SPOUT = Layout("SECURITY PROTOCOL OUT", bits("opcode", 8), bits("security_protocol", 8),
               bits("security_protocol_specific", 16), bits("inc_512", 1), reserved(7), reserved(8),
               bits("transfer_length", 32), reserved(8), *control())

PROTOCOL_INFORMATION = 0x00
TAPE_DATA_ENCRYPTION = 0x20

# Tape Data Encryption pages (SSC-4 8.5.2 and 8.5.3)
IN_SUPPORT, OUT_SUPPORT, CAPABILITIES, KEY_FORMATS, MANAGEMENT_CAPABILITIES = 0x0000, 0x0001, 0x0010, 0x0011, 0x0012
STATUS, NEXT_BLOCK_STATUS = 0x0020, 0x0021
SET_DATA_ENCRYPTION = 0x0010
IN_PAGES = (IN_SUPPORT, OUT_SUPPORT, CAPABILITIES, KEY_FORMATS, MANAGEMENT_CAPABILITIES, STATUS, NEXT_BLOCK_STATUS)

# Field values
PUBLIC, LOCAL, ALL_I_T_NEXUS = 0, 1, 2                       # SCOPE
DISABLE, EXTERNAL, ENCRYPT = 0, 1, 2                          # ENCRYPTION MODE
RAW, DECRYPT, MIXED = 1, 2, 3                                 # DECRYPTION MODE (0: DISABLE)
RDMC_DEFAULT, RDMC_UNPROTECT, RDMC_PROTECT = 0, 2, 3
PLAIN_TEXT_KEY = 0x00                                         # LOGICAL BLOCK ENCRYPTION KEY FORMAT
UKAD, AKAD = 0x00, 0x01                                       # KAD TYPE
NOT_AUTHENTICATED, AUTHENTICATED = 1, 2                       # a KAD descriptor's AUTHENTICATED field
ALGORITHM_INDEX = 1
AES_256_GCM = 0x00010014                                      # SECURITY ALGORITHM CODE
KEY_SIZE, MAX_UKAD, MAX_AKAD = 32, 32, 12
# ENCRYPTION STATUS of the Next Block Encryption Status page
NOT_A_LOGICAL_BLOCK, NOT_ENCRYPTED, DECRYPTABLE, NOT_DECRYPTABLE = 2, 3, 5, 6

SDE = Layout("Set Data Encryption page", bits("page_code", 16), bits("page_length", 16), bits("scope", 3),
             reserved(4), bits("lock", 1), bits("ceem", 2), bits("rdmc", 2), bits("sdk", 1), bits("ckod", 1),
             bits("ckorp", 1), bits("ckorl", 1), bits("encryption_mode", 8), bits("decryption_mode", 8),
             bits("algorithm_index", 8), bits("key_format", 8), bits("kad_format", 8), reserved(56),
             bits("key_length", 16), in_cdb=False)
KAD = Layout("key-associated data descriptor", bits("type", 8), reserved(5), bits("authenticated", 3),
             bits("length", 16), in_cdb=False)
DES = Layout("Data Encryption Status page", bits("page_code", 16), bits("page_length", 16),
             bits("i_t_nexus_scope", 3), reserved(2), bits("key_scope", 3), bits("encryption_mode", 8),
             bits("decryption_mode", 8), bits("algorithm_index", 8), bits("key_instance_counter", 32),
             reserved(1), bits("parameters_control", 3), bits("vcelb", 1), bits("ceems", 2), bits("rdmd", 1),
             bits("kad_format", 8), bits("asdk_count", 16), reserved(64), in_cdb=False)
NBES = Layout("Next Block Encryption Status page", bits("page_code", 16), bits("page_length", 16),
              bits("logical_object_number", 64), bits("compression_status", 4), bits("encryption_status", 4),
              bits("algorithm_index", 8), reserved(6), bits("emes", 1), bits("rdmds", 1),
              bits("next_block_kad_format", 8), in_cdb=False)
DEC = Layout("Data Encryption Capabilities page", bits("page_code", 16), bits("page_length", 16), reserved(4),
             bits("extdecc", 2), bits("cfg_p", 2), reserved(120), in_cdb=False)
ALGORITHM = Layout(
    "data encryption algorithm descriptor", bits("algorithm_index", 8), reserved(8), bits("descriptor_length", 16),
    bits("avfmv", 1), bits("sdk_c", 1), bits("mac_c", 1), bits("delb_c", 1), bits("decrypt_c", 2),
    bits("encrypt_c", 2), bits("avfclp", 2), bits("nonce_c", 2), bits("kadf_c", 1), bits("vcelb_c", 1),
    bits("ukadf", 1), bits("akadf", 1), bits("max_ukad_bytes", 16), bits("max_akad_bytes", 16),
    bits("key_size", 16), bits("dkad_c", 2), bits("eemc_c", 2), bits("rdmc_c", 3), bits("earem", 1),
    reserved(8), bits("msdk_count", 16), reserved(32), bits("security_algorithm_code", 32), in_cdb=False)
DEMC = Layout("Data Encryption Management Capabilities page", bits("page_code", 16), bits("page_length", 16),
              reserved(7), bits("lock_c", 1), reserved(5), bits("ckod_c", 1), bits("ckorp_c", 1),
              bits("ckorl_c", 1), reserved(8), reserved(5), bits("aitn_c", 1), bits("local_c", 1),
              bits("public_c", 1), reserved(64), in_cdb=False)


class DecryptionRefused(Exception):
    """A block the decryption mode or key cannot deliver: DATA PROTECT with ``code``."""

    def __init__(self, code: tuple[int, int]):
        super().__init__(code)
        self.code = code


@dataclass
class EncryptionParameters:
    """The drive's data encryption parameters (the public ones: every I_T nexus uses them)."""

    encryption_mode: int = DISABLE
    decryption_mode: int = DISABLE
    key: DataKey | None = None
    ckod: bool = False
    key_scope: int = PUBLIC
    key_instance_counter: int = 0

    @property
    def protect(self) -> bool:
        """RDMC protect: the blocks written now refuse a raw read."""
        return self.key is not None and self.key.protect

    @property
    def write_key(self) -> DataKey | None:
        """The key WRITE seals blocks with (None: blocks go as they are)."""
        return self.key if self.encryption_mode == ENCRYPT else None

    def read_key(self) -> tuple[bytes | None, bool]:
        """(key to open blocks with, raw) for READ and VERIFY."""
        if self.decryption_mode in (DECRYPT, MIXED) and self.key is not None:
            return self.key.key, False
        return None, self.decryption_mode == RAW

    def describe(self) -> str:
        """The state in stenc's words (on, mixed, rawread, off), for operators."""
        if self.encryption_mode == DISABLE and self.decryption_mode == DISABLE:
            return "off"
        names = {DISABLE: "decrypt off", RAW: "rawread", DECRYPT: "on", MIXED: "mixed"}
        text = names[self.decryption_mode] if self.encryption_mode == ENCRYPT else \
            f"not encrypting, {names[self.decryption_mode]}"
        return text + (" (key cleared at unload)" if self.ckod else "")

    def cleared(self) -> "EncryptionParameters":
        """No key and no encryption (after a reset, or an unload with CKOD); the key
        instance counter moves on if there was something to forget."""
        had = self.key is not None or self.encryption_mode != DISABLE or self.decryption_mode != DISABLE
        return EncryptionParameters(key_instance_counter=self.key_instance_counter + (1 if had else 0))


def check_block(params: EncryptionParameters, encrypted: bool) -> None:
    """After a data block was read: a plain block while decrypting (not MIXED) is refused."""
    if not encrypted and params.decryption_mode == DECRYPT:
        raise DecryptionRefused(Asc.UNENCRYPTED_DATA_ENCOUNTERED_WHILE_DECRYPTING)


# -- SECURITY PROTOCOL IN ---------------------------------------------------------------------

@SSC.register("SECURITY PROTOCOL IN", 0xA2, SPIN, access=Access.READ)
def security_protocol_in(dev, req: Request):
    f = req.fields
    if f.inc_512:
        raise req.invalid("inc_512")
    page = f.security_protocol_specific
    if f.security_protocol == PROTOCOL_INFORMATION:
        if page == 0x0000:          # supported security protocol list (SPC-4 7.7.1)
            protocols = bytes([PROTOCOL_INFORMATION, TAPE_DATA_ENCRYPTION])
            return _clip(bytes(6) + len(protocols).to_bytes(2, "big") + protocols, f.allocation_length)
        if page == 0x0001:          # certificate data: none
            return _clip(bytes(4), f.allocation_length)
        raise req.invalid("security_protocol_specific")
    if f.security_protocol != TAPE_DATA_ENCRYPTION:
        raise req.invalid("security_protocol")
    builders = {IN_SUPPORT: _in_support, OUT_SUPPORT: _out_support, CAPABILITIES: _capabilities,
                KEY_FORMATS: _key_formats, MANAGEMENT_CAPABILITIES: _management_capabilities,
                STATUS: _status, NEXT_BLOCK_STATUS: _next_block_status}
    build = builders.get(page)
    if build is None:
        raise req.invalid("security_protocol_specific")
    return _clip(build(dev, req.nexus), f.allocation_length)


def _clip(data: bytes, allocation_length: int) -> bytes:
    return data[:allocation_length]


def _page(code: int, body: bytes) -> bytes:
    return code.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def _in_support(dev, nexus: Nexus) -> bytes:
    return _page(IN_SUPPORT, b"".join(p.to_bytes(2, "big") for p in IN_PAGES))


def _out_support(dev, nexus: Nexus) -> bytes:
    return _page(OUT_SUPPORT, SET_DATA_ENCRYPTION.to_bytes(2, "big"))


def _capabilities(dev, nexus: Nexus) -> bytes:
    descriptor = ALGORITHM.build(
        algorithm_index=ALGORITHM_INDEX, descriptor_length=ALGORITHM.size - 4, mac_c=True, delb_c=True,
        decrypt_c=2, encrypt_c=2, nonce_c=1, max_ukad_bytes=MAX_UKAD, max_akad_bytes=MAX_AKAD,
        key_size=KEY_SIZE, earem=True, security_algorithm_code=AES_256_GCM)
    header = DEC.build(page_code=CAPABILITIES, page_length=DEC.size - 4 + len(descriptor), extdecc=1, cfg_p=1)
    return header + descriptor


def _key_formats(dev, nexus: Nexus) -> bytes:
    return _page(KEY_FORMATS, bytes([PLAIN_TEXT_KEY]))


def _management_capabilities(dev, nexus: Nexus) -> bytes:
    return DEMC.build(page_code=MANAGEMENT_CAPABILITIES, page_length=DEMC.size - 4, ckod_c=True, aitn_c=True,
                      public_c=True)


def _kad_descriptors(kads: list[tuple[int, bytes]], verified: bool) -> bytes:
    out = b""
    for kind, data in kads:
        if data:
            authenticated = AUTHENTICATED if kind == AKAD and verified else NOT_AUTHENTICATED
            out += KAD.build(type=kind, authenticated=authenticated, length=len(data)) + data
    return out


def _status(dev, nexus: Nexus) -> bytes:
    p: EncryptionParameters = dev.encryption
    kads = _kad_descriptors([(UKAD, p.key.ukad), (AKAD, p.key.akad)], True) if p.key is not None else b""
    active = p.encryption_mode != DISABLE or p.decryption_mode != DISABLE
    return DES.build(page_code=STATUS, page_length=DES.size - 4 + len(kads), i_t_nexus_scope=PUBLIC,
                     key_scope=p.key_scope, encryption_mode=p.encryption_mode, decryption_mode=p.decryption_mode,
                     algorithm_index=ALGORITHM_INDEX if active else 0,
                     key_instance_counter=p.key_instance_counter, rdmd=p.protect) + kads


def _next_block_status(dev, nexus: Nexus) -> bytes:
    part = dev.medium()
    p: EncryptionParameters = dev.encryption
    crypto = part.crypto_at_head(p.key.key if p.key is not None else None)
    kads = b""
    if crypto is None:
        status, index, raw_disabled = NOT_A_LOGICAL_BLOCK, 0, False
    elif not crypto.encrypted:
        status, index, raw_disabled = NOT_ENCRYPTED, 0, False
    else:
        status = DECRYPTABLE if crypto.decryptable else NOT_DECRYPTABLE
        index, raw_disabled = ALGORITHM_INDEX, crypto.raw_read_disabled
        kads = _kad_descriptors([(UKAD, crypto.ukad), (AKAD, crypto.akad)], crypto.decryptable)
    return NBES.build(page_code=NEXT_BLOCK_STATUS, page_length=NBES.size - 4 + len(kads),
                      logical_object_number=part.pos, encryption_status=status, algorithm_index=index,
                      rdmds=raw_disabled) + kads


# -- SECURITY PROTOCOL OUT ----------------------------------------------------------------------

@SSC.register("SECURITY PROTOCOL OUT", 0xB5, SPOUT, access=Access.WRITE)
def security_protocol_out(dev, req: Request):
    f = req.fields
    if f.security_protocol != TAPE_DATA_ENCRYPTION:
        raise req.invalid("security_protocol")
    if f.security_protocol_specific != SET_DATA_ENCRYPTION:
        raise req.invalid("security_protocol_specific")
    if f.inc_512:
        raise req.invalid("inc_512")
    if f.transfer_length == 0:
        return None
    if f.transfer_length < SDE.size:
        raise parameter_list_length_error()
    data = req.parameters(f.transfer_length)
    page = SDE.parse(data)
    if page.page_code != SET_DATA_ENCRYPTION:
        raise SDE.invalid("page_code")
    end = 4 + page.page_length
    if end > len(data):
        raise parameter_list_length_error()
    if page.scope not in (PUBLIC, ALL_I_T_NEXUS):
        raise SDE.invalid("scope")            # LOCAL: not offered (LOCAL_C is 0)
    if page.scope == PUBLIC:
        return None                           # use the public parameters: every nexus does
    for name in ("lock", "sdk", "ckorp", "ckorl"):
        if getattr(page, name):
            raise SDE.invalid(name)           # not offered (management capabilities page)
    if page.rdmc == 1:
        raise SDE.invalid("rdmc")
    if page.encryption_mode not in (DISABLE, ENCRYPT):
        raise SDE.invalid("encryption_mode")  # EXTERNAL: not offered
    if page.decryption_mode > MIXED:
        raise SDE.invalid("decryption_mode")
    new = EncryptionParameters(ckod=page.ckod, key_instance_counter=dev.encryption.key_instance_counter + 1)
    if page.encryption_mode != DISABLE or page.decryption_mode != DISABLE:
        if page.algorithm_index != ALGORITHM_INDEX:
            raise SDE.invalid("algorithm_index")
        if page.key_format != PLAIN_TEXT_KEY:
            raise SDE.invalid("key_format")
        if page.kad_format != 0:
            raise SDE.invalid("kad_format")
        if page.key_length != KEY_SIZE:
            raise SDE.invalid("key_length")
        if SDE.size + KEY_SIZE > end:
            raise parameter_list_length_error()
        kads = _parse_kads(data, SDE.size + KEY_SIZE, end)
        new.encryption_mode, new.decryption_mode = page.encryption_mode, page.decryption_mode
        new.key = DataKey(bytes(data[SDE.size:SDE.size + KEY_SIZE]), kads.get(UKAD, b""), kads.get(AKAD, b""),
                          page.rdmc == RDMC_PROTECT)
        new.key_scope = ALL_I_T_NEXUS
    dev.encryption = new
    dev.unit_attentions.establish(Asc.DATA_ENCRYPTION_PARAMETERS_CHANGED_BY_ANOTHER_I_T_NEXUS, exclude=req.nexus)
    return None


def _parse_kads(data: memoryview, offset: int, end: int) -> dict[int, bytes]:
    kads: dict[int, bytes] = {}
    while offset < end:
        if offset + KAD.size > end:
            raise parameter_list_length_error()
        d = KAD.parse(data[offset:])
        limit = {UKAD: MAX_UKAD, AKAD: MAX_AKAD}.get(d.type)
        if limit is None or d.type in kads:
            raise KAD.invalid("type", offset)
        if d.length > limit:
            raise KAD.invalid("length", offset)
        if offset + KAD.size + d.length > end:
            raise parameter_list_length_error()
        kads[d.type] = bytes(data[offset + KAD.size:offset + KAD.size + d.length])
        offset += KAD.size + d.length
    return kads

