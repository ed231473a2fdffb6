"""Encrypted records: AES-256-GCM per data block, as an LTO drive's application-managed
encryption writes them.

A drive given a key (SECURITY PROTOCOL OUT, Set Data Encryption) seals each data block
after compressing it; the record header says so (``Flags.ENCRYPTED``), and the stored
payload is::

    u16 U-KAD length, U-KAD, u16 A-KAD length, A-KAD, 12-byte nonce, ciphertext + 16-byte tag

The key-associated data travel with every block in the clear (a backup application
reads them back, through the Next Block Encryption Status page, to find the key), and
the A-KAD is authenticated with the data.  The key itself is never stored: without it
the block cannot be read, which is the point.  The record CRC covers the sealed bytes,
so damage is still a MEDIUM ERROR; a tag that does not verify after a good CRC means
the key is not the one the block was written with.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import CartridgeError

KEY_SIZE = 32            # AES-256
NONCE_SIZE = 12
TAG_SIZE = 16
MAX_UKAD = 32            # what an LTO drive accepts (IBM: 32 bytes U-KAD, 12 bytes A-KAD)
MAX_AKAD = 12
_LEN = struct.Struct(">H")


class WrongKey(CartridgeError):
    """The block is encrypted with another key (its tag does not verify)."""


@dataclass(frozen=True)
class DataKey:
    """What a drive encrypts with: the key and the key-associated data that go with it."""

    key: bytes
    ukad: bytes = b""
    akad: bytes = b""
    protect: bool = False
    """Blocks written with this key refuse a raw read (SSC's RDMC "protect")."""

    def __post_init__(self) -> None:
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"an AES-256 key is {KEY_SIZE} bytes, not {len(self.key)}")
        if len(self.ukad) > MAX_UKAD or len(self.akad) > MAX_AKAD:
            raise ValueError(f"key-associated data are at most {MAX_UKAD} (U-KAD) and {MAX_AKAD} "
                             "(A-KAD) bytes")


@dataclass(frozen=True)
class Sealed:
    """A sealed payload taken apart (no key needed)."""

    ukad: bytes
    akad: bytes
    nonce: bytes
    ciphertext: memoryview       # with the tag


def seal(key: DataKey, plaintext: bytes | memoryview) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    body = AESGCM(key.key).encrypt(nonce, bytes(plaintext), key.akad or None)
    return b"".join((_LEN.pack(len(key.ukad)), key.ukad, _LEN.pack(len(key.akad)), key.akad, nonce, body))


def parse(stored: bytes | memoryview) -> Sealed:
    """The parts of a sealed payload; ValueError if it is not one."""
    view = memoryview(stored)
    try:
        (ulen,) = _LEN.unpack_from(view, 0)
        ukad = bytes(view[2:2 + ulen])
        (alen,) = _LEN.unpack_from(view, 2 + ulen)
        at = 4 + ulen
        akad = bytes(view[at:at + alen])
        at += alen
    except struct.error:
        raise ValueError("not a sealed block") from None
    if len(ukad) != ulen or len(akad) != alen or len(view) < at + NONCE_SIZE + TAG_SIZE:
        raise ValueError("not a sealed block")
    return Sealed(ukad, akad, bytes(view[at:at + NONCE_SIZE]), view[at + NONCE_SIZE:])


def unseal(key: bytes, sealed: Sealed) -> bytes:
    """The plaintext; WrongKey if ``key`` is not the one the block was sealed with."""
    try:
        return AESGCM(key).decrypt(sealed.nonce, bytes(sealed.ciphertext), sealed.akad or None)
    except InvalidTag:
        raise WrongKey("the block was encrypted with another key") from None
