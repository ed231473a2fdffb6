"""Encrypted records (images/cartridge/encryption.py): sealed after compression, opened
only with their key, handed over raw unless written "protect", and as safe against a
torn write as any record."""
from __future__ import annotations

import os

import pytest

from images.cartridge import Algorithm, Cartridge, DataKey, Kind, NoKey, WrongKey
from images.cartridge.encryption import parse
from images.cartridge.errors import RawReadDisabled

KEY = DataKey(bytes(range(32)), b"label 1", b"akad")


@pytest.fixture
def part(tmp_path):
    with Cartridge.create(str(tmp_path / "E00001L8"), "LTO8", capacity=8 << 20) as cart:
        yield cart.active


def test_sealed_after_compression_and_opened_with_the_key(part):
    text = b"to be or not to be " * 500
    stored = part.write(memoryview(text), Algorithm.ZSTD, KEY)
    assert stored < len(text) // 4
    part.write(memoryview(b"plain"))
    part.rewind()
    buf = memoryview(bytearray(len(text)))
    r = part.read(buf, KEY.key)
    assert (r.kind, r.length, r.encrypted, bytes(buf)) == (Kind.DATA, len(text), True, text)
    r = part.read(buf, KEY.key)
    assert (r.encrypted, bytes(buf[:r.copied])) == (False, b"plain")


def test_without_the_key_it_does_not_open_and_the_head_moves_on(part):
    part.write(memoryview(b"secret"), key=KEY)
    part.write(memoryview(b"next"), key=KEY)
    part.rewind()
    buf = memoryview(bytearray(16))
    with pytest.raises(NoKey):
        part.read(buf)
    assert part.pos == 1
    with pytest.raises(WrongKey):
        part.read(buf, os.urandom(32))
    assert part.pos == 2


def test_raw_reads_hand_over_the_sealed_block_unless_protected(part):
    part.write(memoryview(b"r" * 50), key=KEY)
    part.write(memoryview(b"p" * 50), key=DataKey(KEY.key, protect=True))
    part.rewind()
    buf = memoryview(bytearray(200))
    r = part.read(buf, raw=True)
    sealed = parse(buf[:r.copied])
    assert (sealed.ukad, sealed.akad, len(sealed.nonce)) == (b"label 1", b"akad", 12)
    with pytest.raises(RawReadDisabled):
        part.read(buf, raw=True)


def test_the_next_block_tells_its_encryption_without_moving(part):
    part.write(memoryview(b"x"), key=KEY)
    part.write_mark(Kind.FILEMARK)
    part.write(memoryview(b"y"))
    part.rewind()
    c = part.crypto_at_head(KEY.key)
    assert (c.encrypted, c.ukad, c.akad, c.decryptable) == (True, b"label 1", b"akad", True)
    assert part.crypto_at_head(os.urandom(32)).decryptable is False and part.pos == 0
    part.locate(1)
    assert part.crypto_at_head() is None
    part.locate(2)
    assert part.crypto_at_head().encrypted is False


def test_a_torn_encrypted_record_is_cut_like_any_other(tmp_path):
    path = str(tmp_path / "T00001L8")
    with Cartridge.create(path, "LTO8", capacity=8 << 20) as cart:
        cart.active.write(memoryview(b"kept" * 100), key=KEY)
        cart.active.write(memoryview(b"torn" * 100), key=KEY)
        stored = cart.active.data_end
    os.truncate(os.path.join(path, "p0.dat"), stored - 30)     # a power loss: the header without all its payload
    with Cartridge.open(path) as cart:
        assert cart.active.eod == 1 and cart.active.recovered_bytes > 0
        buf = memoryview(bytearray(400))
        assert bytes(buf[:cart.active.read(buf, KEY.key).copied]) == b"kept" * 100


def test_keys_and_kads_are_checked():
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(bytes(16))
    with pytest.raises(ValueError, match="at most 32"):
        DataKey(bytes(32), ukad=bytes(33))
    with pytest.raises(ValueError, match="not a sealed block"):
        parse(b"\x00\x05ab")
