"""The file-backed cartridge: records, marks, positions, recovery, flags, MAM."""
from __future__ import annotations

import os

import pytest

from images.cartridge import (
    Algorithm, Cartridge, CartridgeError, EndOfMedium, Kind, MediumError, WormOverwrite, WriteProtected,
    media_for_barcode, media_type,
)
from images.cartridge.index import CHECKPOINT_EVERY
from images.cartridge.record import HEADER_SIZE

MIB = 1024 * 1024


def block(i: int, size: int = 1000) -> bytes:
    return (i.to_bytes(4, "big") * (size // 4 + 1))[:size]


def read_all(part):
    out = []
    buf = memoryview(bytearray(1 << 20))
    while True:
        r = part.read(buf)
        if r.kind is None:
            return out
        out.append(bytes(buf[: r.copied]) if r.kind == Kind.DATA else r.kind)


def test_records_and_marks_round_trip(cart):
    p = cart.active
    p.write(memoryview(block(1)))
    p.write_mark(Kind.FILEMARK)
    p.write(memoryview(block(2, 5)), Algorithm.LZ4)
    p.write(memoryview(b"a" * 100_000), Algorithm.ZSTD)
    p.rewind()
    assert read_all(p) == [block(1), Kind.FILEMARK, block(2, 5), b"a" * 100_000]
    assert p.eod == 4 and p.filemark_count == 1


def test_compression_is_per_record_and_only_when_it_shrinks(cart, tmp_path):
    p = cart.active
    random = os.urandom(64 * 1024)
    text = b"the quick brown fox " * 4000
    p.write(memoryview(random), Algorithm.LZ4)
    used_random = p.end
    p.write(memoryview(text), Algorithm.LZ4)
    assert used_random == HEADER_SIZE + len(random)          # stored plain: lz4 would grow it
    assert p.end - used_random < len(text) // 10             # stored compressed
    p.rewind()
    assert read_all(p) == [random, text]


def test_short_buffer_reads_part_of_the_block_and_skips_the_rest(cart):
    p = cart.active
    p.write(memoryview(block(7, 4096)), Algorithm.LZ4)
    p.write(memoryview(block(8, 10)))
    p.rewind()
    buf = memoryview(bytearray(100))
    r = p.read(buf)
    assert (r.kind, r.length, r.copied) == (Kind.DATA, 4096, 100)
    assert bytes(buf) == block(7, 4096)[:100]
    assert read_all(p) == [block(8, 10)]


def test_write_mid_tape_makes_a_new_eod(cart):
    p = cart.active
    for i in range(10):
        p.write(memoryview(block(i)))
    p.locate(4)
    p.write(memoryview(block(99)))
    assert p.eod == 5
    p.rewind()
    assert read_all(p) == [block(0), block(1), block(2), block(3), block(99)]


def test_locate_and_filemark_lookup_use_the_index(cart):
    p = cart.active
    for i in range(CHECKPOINT_EVERY * 5 + 3):
        p.write(memoryview(block(i, 16)))
        if i % 100 == 99:
            p.write_mark(Kind.FILEMARK)
    assert len(p.index.checkpoints) == (p.eod + CHECKPOINT_EVERY - 1) // CHECKPOINT_EVERY
    assert list(p.index.filemarks) == [100, 201, 302]
    p.locate(202)
    assert bytes(read_all(p)[0]) == block(200, 16)
    assert p.filemarks_before(202) == 2 and p.filemark(2) == 302


def test_reopen_keeps_everything(cart):
    p = cart.active
    for i in range(200):
        p.write(memoryview(block(i, 50)))
    p.write_mark(Kind.FILEMARK)
    path = cart.path
    cart.close()
    with Cartridge.open(path) as again:
        q = again.active
        assert (q.eod, q.filemark_count) == (201, 1)
        assert read_all(q)[-2:] == [block(199, 50), Kind.FILEMARK]


@pytest.mark.parametrize("torn", ["kill", "power loss"])
def test_torn_tail_is_cut_on_open(cart, torn):
    p = cart.active
    for i in range(5):
        p.write(memoryview(block(i)))
    path, rec, dat = cart.path, p.rec_path, p.dat_path
    cart.close()
    # A kill mid-write leaves half the last payload and no header (the header goes
    # second); a power loss may keep the header without all of its payload.
    os.truncate(dat, os.path.getsize(dat) - 500)
    if torn == "kill":
        os.truncate(rec, os.path.getsize(rec) - HEADER_SIZE)
    with Cartridge.open(path) as again:
        assert again.active.eod == 4
        assert again.active.recovered_bytes == 500 + (HEADER_SIZE if torn == "power loss" else 0)
        assert read_all(again.active) == [block(i) for i in range(4)]
    assert (os.path.getsize(rec), os.path.getsize(dat)) == (4 * HEADER_SIZE, 4000)


def test_garbage_tail_and_bad_last_payload_are_cut(cart):
    p = cart.active
    for i in range(3):
        p.write(memoryview(block(i)))
    path, rec, dat = cart.path, p.rec_path, p.dat_path
    cart.close()
    with open(dat, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        f.write(b"\xff")                    # last payload corrupt: torn write
    with open(rec, "ab") as f:
        f.write(b"VTLR" + b"\0" * 12)       # and half a header after it
    with Cartridge.open(path) as again:
        assert again.active.eod == 2


def test_crc_error_mid_tape_is_a_medium_error(cart):
    p = cart.active
    for i in range(3):
        p.write(memoryview(block(i)))
    with open(p.dat_path, "r+b") as f:
        f.seek(10)
        f.write(b"\x00\x01")
    for read in ("into a buffer", "as a view"):
        p.rewind()
        with pytest.raises(MediumError):
            if read == "as a view":
                p.read_view(2000)
            else:
                p.read(memoryview(bytearray(2000)))
        assert read_all(p) == [block(1), block(2)]   # the drive moves past the bad block


@pytest.mark.parametrize("damage", ["delete", "truncate", "foreign"])
def test_missing_or_stale_index_is_rebuilt(cart, tmp_path, damage):
    p = cart.active
    for i in range(300):
        p.write(memoryview(block(i, 20)))
        if i % 50 == 0:
            p.write_mark(Kind.FILEMARK)
    path, idx = cart.path, p.index.path
    expected_fm = list(p.index.filemarks)
    cart.close()
    if damage == "delete":
        os.unlink(idx)
    elif damage == "truncate":
        os.truncate(idx, os.path.getsize(idx) // 2 + 3)
    else:
        other = Cartridge.create(str(tmp_path / "other"), capacity=MIB * 8)
        for i in range(200):
            other.active.write(memoryview(block(i, 7)))
        other.close()
        os.replace(str(tmp_path / "other" / "p0.idx"), idx)
    with Cartridge.open(path) as again:
        q = again.active
        assert list(q.index.filemarks) == expected_fm
        q.locate(250)
        assert read_all(q)[0] == block(250 - 5, 20)


def test_capacity_early_warning_and_end_of_medium(tmp_path):
    with Cartridge.create(str(tmp_path / "small"), capacity=MIB, early_warning=100_000) as c:
        p = c.active
        n = 0
        with pytest.raises(EndOfMedium):
            while True:
                p.write(memoryview(os.urandom(10_000)))
                n += 1
                if p.end < MIB - 100_000:
                    assert not p.in_early_warning
        assert p.in_early_warning and p.end <= MIB
        assert n == (MIB) // (10_000 + HEADER_SIZE)


def test_write_protect_and_worm(tmp_path):
    with Cartridge.create(str(tmp_path / "wp"), capacity=MIB, write_protected=True) as c:
        with pytest.raises(WriteProtected):
            c.check_writable(overwrite=False)
    with Cartridge.create(str(tmp_path / "W00001LY"), capacity=MIB) as w:
        assert w.worm and w.media.name == "LTO8-WORM"
        w.check_writable(overwrite=False)
        w.active.write(memoryview(b"x"))
        with pytest.raises(WormOverwrite):
            w.check_writable(overwrite=True)
        with pytest.raises(WormOverwrite):
            w.format()


def test_partitions_each_have_their_own_eod(tmp_path):
    with Cartridge.create(str(tmp_path / "p"), "LTO6", capacity=8 * MIB) as c:
        c.format([2 * MIB, 6 * MIB])
        c.select(0).write(memoryview(b"index"))
        c.select(1).write(memoryview(b"data1"))
        c.active.write(memoryview(b"data2"))
        assert [p.eod for p in c.partitions] == [1, 2]
        path = c.path
    with Cartridge.open(path) as c:
        assert [p.capacity for p in c.partitions] == [2 * MIB, 6 * MIB]
        assert read_all(c.select(1)) == [b"data1", b"data2"]
        with pytest.raises(CartridgeError):
            c.format([MIB] * 5)


def test_set_capacity_shortens_and_erases(tmp_path):
    with Cartridge.create(str(tmp_path / "s"), capacity=8 * MIB) as c:
        c.active.write(memoryview(b"x" * 100))
        c.set_capacity(2 * MIB)
        assert c.capacity == 2 * MIB and c.active.eod == 0
        c.set_capacity(8 * MIB)
        assert c.capacity == 8 * MIB


def test_mam_counters_and_history(cart):
    cart.note_load("IBM     123")
    cart.active.write(memoryview(b"x" * 3 * MIB))
    cart.count_written(3 * MIB)
    cart.flush()
    assert cart.mam_int(0x0003) == 1
    assert cart.mam_int(0x0220) == 3 and cart.mam_int(0x0222) == 3
    assert cart.mam_get(0x020A).startswith(b"IBM     123")
    assert cart.mam_get(0x0806).rstrip() == b"A00001L8"
    assert len(cart.mam_get(0x0804)) == 12 and cart.mam_get(0x0804)[:2] == b"20"   # last written


def test_one_drive_at_a_time(cart):
    with pytest.raises(CartridgeError, match="in use"):
        Cartridge.open(cart.path)


def test_bad_label_names_the_file_and_the_fix(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "cartridge.json").write_text("{not json")
    with pytest.raises(CartridgeError, match=r"cartridge.json.*Fix"):
        Cartridge.open(str(d))
    with pytest.raises(CartridgeError, match="no cartridge here"):
        Cartridge.open(str(tmp_path / "nothing"))


def test_media_catalogue():
    assert media_type("lto-9").capacity == 18 * 10**12
    assert media_for_barcode("000001L7").name == "LTO7"
    assert media_for_barcode("CLN001CU").cleaning
    with pytest.raises(KeyError):
        media_type("DLT")


def test_memory_is_the_index_only(cart):
    """Writing many records grows only the checkpoint array (1 per 64 objects)."""
    p = cart.active
    for _i in range(CHECKPOINT_EVERY * 20):
        p.write(memoryview(b"r"))
    assert len(p.index.checkpoints) == 20
    assert len(p._scratch) == 0
