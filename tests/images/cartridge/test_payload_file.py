"""Blocks read without a buffer come as views of the page cache, and the payload file is
never cut under a view: a held view reads on, and the slack goes when nothing maps it."""
from __future__ import annotations

import mmap
import os

from images.cartridge import Algorithm, Cartridge, DataKey, Kind
from images.cartridge.payload_file import PayloadFile

MIB = 1024 * 1024
KEY = DataKey(bytes(range(32)))


def block(i: int, size: int = 5000) -> bytes:
    return (i.to_bytes(4, "big") * (size // 4 + 1))[:size]


def test_a_plain_block_is_a_read_only_view_of_the_mapped_file(cart):
    p = cart.active
    for i in range(3):
        p.write(memoryview(block(i)))
    p.rewind()
    r = p.read_view(10_000)
    assert (r.kind, r.length, r.copied, r.stored) == (Kind.DATA, 5000, 5000, 5000)
    assert r.data.readonly and isinstance(r.data.obj, mmap.mmap)        # not a copy
    assert bytes(r.data) == block(0)
    short = p.read_view(100)                                             # a short read: the head part
    assert (short.length, short.copied, bytes(short.data)) == (5000, 100, block(1)[:100])
    assert p.pos == 2


def test_compressed_and_encrypted_blocks_come_decoded(cart):
    p = cart.active
    text = b"tape " * 2000
    p.write(memoryview(text), Algorithm.LZ4)
    p.write(memoryview(text), key=KEY)
    p.write_mark(Kind.FILEMARK)
    p.rewind()
    r = p.read_view(len(text))
    assert r.stored < len(text) and bytes(r.data) == text
    r = p.read_view(len(text), KEY.key)
    assert r.encrypted and bytes(r.data) == text
    assert p.read_view(10).kind == Kind.FILEMARK
    assert p.read_view(10).kind is None


def view_then_cut(p) -> memoryview:
    """Three blocks; a view of the first held; then "new" written at BOT, which cuts
    everything after it while the view still maps the old bytes."""
    for i in range(3):
        p.write(memoryview(block(i)))
    p.rewind()
    held = p.read_view(5000).data
    p.rewind()
    p.write(memoryview(b"new"))
    assert (p.eod, p.data_end) == (1, 3)
    return held


def test_a_cut_under_a_held_view_leaves_slack_until_the_view_goes(cart):
    p = cart.active
    held = view_then_cut(p)
    assert os.path.getsize(p.dat_path) == 15_000      # not cut: a view still maps it
    assert bytes(held[3:]) == block(0)[3:]            # and what was not overwritten reads on
    cart.flush()
    assert os.path.getsize(p.dat_path) == 15_000
    held.release()
    cart.flush()                                      # a sync point cuts the slack now
    assert os.path.getsize(p.dat_path) == 3


def test_a_view_outliving_its_cartridge_keeps_the_file_whole(cart):
    held = view_then_cut(cart.active)
    path = cart.path
    cart.close()
    with Cartridge.open(path) as again:              # the open would cut the slack: not yet
        assert again.active.eod == 1
        assert os.path.getsize(again.active.dat_path) == 15_000
        assert bytes(held[3:]) == block(0)[3:]
    held.release()
    with Cartridge.open(path) as again:
        assert os.path.getsize(again.active.dat_path) == 3


def test_views_move_with_the_reads_through_a_file_larger_than_a_window(tmp_path, monkeypatch):
    import images.cartridge.payload_file as payload_file
    monkeypatch.setattr(payload_file, "WINDOW", 2 * MIB)
    with Cartridge.create(str(tmp_path / "A00001L8"), capacity=64 * MIB) as c:
        p = c.active
        sizes = [700_001, 1, 3 * MIB + 5, 65_536, 900_000] * 3
        for i, n in enumerate(sizes):
            p.write(memoryview(block(i, n)))
        p.rewind()
        views = [p.read_view(n).data for n in sizes]  # each window stays while its views do
        assert [bytes(v) for v in views] == [block(i, n) for i, n in enumerate(sizes)]


def test_a_payload_file_maps_nothing_until_asked(tmp_path):
    f = PayloadFile(str(tmp_path / "p0.dat"))
    try:
        f.write(b"abc" * 1000, 0)
        assert not f.mapped()
        v = f.view(3, 6)
        assert bytes(v) == b"abcabc"[:0] + b"abcabc" and f.mapped()
        assert not f.shrink(3)                        # a view is held
        v.release()
        assert f.shrink(3) and f.size == 3 and not f.mapped()
    finally:
        f.close()


def test_a_view_handed_out_is_not_reused_by_the_next_read(cart):
    p = cart.active
    text = b"tape " * 2000
    p.write(memoryview(block(0)))
    p.write(memoryview(text), Algorithm.LZ4)
    p.write(memoryview(block(2)))
    p.rewind()
    views = [p.read_view(100).data for _ in range(3)]   # short reads, one compressed
    assert [bytes(v) for v in views] == [block(0)[:100], text[:100], block(2)[:100]]


def test_a_file_whose_mappings_are_gone_is_forgotten(tmp_path):
    import images.cartridge.payload_file as payload_file
    f = PayloadFile(str(tmp_path / "p0.dat"))
    try:
        f.write(b"abc" * 1000, 0)
        bytes(f.view(0, 3))
        f.close()
        assert not PayloadFile.mapped(f) and f._key not in payload_file._mappings
    finally:
        f.close()
