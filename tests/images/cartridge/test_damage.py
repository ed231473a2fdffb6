"""Damage that a kill cannot cause is kept, not cut: the open only cuts what a torn write
leaves (a payload without its header, a partial header, a header with part of its
payload, or zeros), and a
cartridge's files that are not regular files are refused with a plain error."""
from __future__ import annotations

import os

import pytest

from images.cartridge import Cartridge, CartridgeError, Kind, MediumError
from images.cartridge.record import HEADER_SIZE

MIB = 1024 * 1024


def block(i: int, size: int = 1000) -> bytes:
    return (i.to_bytes(4, "big") * (size // 4 + 1))[:size]


def tape(tmp_path, n: int = 50, name: str = "A00001L8", media: str | None = None) -> tuple[str, list[int]]:
    """A closed cartridge of ``n`` 1000-byte blocks; the bytes used before each."""
    path = str(tmp_path / name)
    with Cartridge.create(path, media, capacity=8 * MIB) as c:
        used = []
        for i in range(n):
            used.append(c.active.end)
            c.active.write(memoryview(block(i)))
    return path, used


def spoil(path: str, obj: int, data: bytes = b"\xde\xad\xbe\xef", at: int = 4) -> None:
    """Overwrite bytes of object ``obj``'s header in the record table."""
    with open(os.path.join(path, "p0.rec"), "r+b") as f:
        f.seek(obj * HEADER_SIZE + at)
        f.write(data)


def sizes(path: str) -> tuple[int, int]:
    return os.path.getsize(os.path.join(path, "p0.rec")), os.path.getsize(os.path.join(path, "p0.dat"))


def read_blocks(part, n: int) -> list[bytes]:
    buf = memoryview(bytearray(2000))
    out = []
    for _ in range(n):
        r = part.read(buf)
        assert r.kind == Kind.DATA
        out.append(bytes(buf[:r.copied]))
    return out


def test_a_damaged_header_mid_tape_keeps_everything_after_it(tmp_path):
    path, used = tape(tmp_path)
    before = sizes(path)
    spoil(path, 10)
    for _ in range(2):                                   # and opening again changes nothing
        with Cartridge.open(path) as c:
            p = c.active
            assert sizes(path) == before
            assert (p.eod, p.end, p.damaged, p.recovered_bytes) == (10, used[10], sum(before) - used[10], 0)
            assert read_blocks(p, 10) == [block(i) for i in range(10)]
            with pytest.raises(MediumError) as e:
                p.read(memoryview(bytearray(2000)))
            assert e.value.position == 10 and p.pos == 10
            assert not c.blank


def test_repairing_the_header_by_hand_brings_the_records_back(tmp_path):
    path, _ = tape(tmp_path)
    with open(os.path.join(path, "p0.rec"), "rb") as f:
        f.seek(10 * HEADER_SIZE)
        good = f.read(HEADER_SIZE)
    spoil(path, 10)
    Cartridge.open(path).close()
    spoil(path, 10, good, at=0)
    with Cartridge.open(path) as c:
        assert (c.active.eod, c.active.damaged) == (50, 0)
        assert read_blocks(c.active, 50)[-1] == block(49)


def test_a_header_in_the_wrong_slot_is_damage(tmp_path):
    path, _ = tape(tmp_path)
    with open(os.path.join(path, "p0.rec"), "rb") as f:
        f.seek(11 * HEADER_SIZE)
        eleventh = f.read(HEADER_SIZE)
    spoil(path, 10, eleventh, at=0)                      # intact, but object 11's
    with Cartridge.open(path) as c:
        assert (c.active.eod, c.active.damaged > 0) == (10, True)


def test_writing_at_the_damage_overwrites_it_as_on_tape(tmp_path):
    path, _ = tape(tmp_path)
    spoil(path, 10)
    with Cartridge.open(path) as c:
        p = c.active
        p.locate(p.eod)
        p.write(memoryview(b"new"))
        assert (p.eod, p.damaged) == (11, 0)
    assert sizes(path) == (11 * HEADER_SIZE, 10 * 1000 + 3)
    with Cartridge.open(path) as c:
        assert (c.active.eod, c.active.damaged) == (11, 0)
        assert read_blocks(c.active, 11)[-1] == b"new"


@pytest.mark.parametrize("tail", ["partial header", "payload without its header",
                                  "header and part of its payload", "zeros"])
def test_what_a_torn_write_leaves_is_still_cut(tmp_path, tail):
    path, _ = tape(tmp_path, 3)
    rec, dat = (os.path.join(path, name) for name in ("p0.rec", "p0.dat"))
    before = sizes(path)
    if tail == "header and part of its payload":
        # the fourth record as a power loss may leave it: its header, half its payload
        with Cartridge.open(path) as c:
            c.active.locate(3)
            c.active.write(memoryview(block(3)))
        os.truncate(dat, before[1] + 500)
        extra = HEADER_SIZE + 500
    else:
        name, data = {"partial header": (rec, b"VTLR" + bytes(HEADER_SIZE - 9)),      # a multi-mark write cut short
                      "payload without its header": (dat, block(3)[:700]),          # a kill before the header
                      "zeros": (rec, bytes(3 * MIB))}[tail]                         # a power loss
        with open(name, "ab") as f:
            f.write(data)
        extra = len(data)
    with Cartridge.open(path) as c:
        assert (c.active.eod, c.active.damaged, c.active.recovered_bytes) == (3, 0, extra)
    assert sizes(path) == before


def test_a_garbage_tail_longer_than_a_header_is_kept(tmp_path):
    path, _ = tape(tmp_path, 3)
    rec = os.path.join(path, "p0.rec")
    size = os.path.getsize(rec)
    with open(rec, "ab") as f:
        f.write(b"not a record header, and longer than one")
    with Cartridge.open(path) as c:
        assert (c.active.eod, c.active.damaged, c.active.recovered_bytes) == (3, 40, 0)
    assert os.path.getsize(rec) == size + 40


@pytest.mark.parametrize("name, error", [
    ("p0.rec", "Is a directory"), ("p0.dat", "Is a directory"), ("p0.idx", "Is a directory"),
    ("cartridge.json", "Is a directory"),
    ("lock", "Is a directory"),
])
def test_a_directory_in_place_of_a_cartridge_file_is_refused(tmp_path, name, error):
    path, _ = tape(tmp_path, 3)
    target = os.path.join(path, name)
    os.rename(target, target + ".saved")
    os.mkdir(target)
    with pytest.raises(CartridgeError) as e:
        Cartridge.open(path)
    assert error in str(e.value) and "Fix:" in str(e.value)
    os.rmdir(target)
    os.rename(target + ".saved", target)
    with Cartridge.open(path) as c:                      # nothing was left locked or changed
        assert c.active.eod == 3


def test_a_device_in_place_of_the_index_is_refused(tmp_path):
    path, _ = tape(tmp_path, 3)
    idx = os.path.join(path, "p0.idx")
    os.unlink(idx)
    os.symlink("/dev/zero", idx)
    with pytest.raises(CartridgeError, match="p0.idx: .*not a regular file"):
        Cartridge.open(path)


def test_a_file_is_not_a_cartridge_directory(tmp_path):
    f = tmp_path / "plain"
    f.write_text("x")
    with pytest.raises(CartridgeError, match="no cartridge here"):
        Cartridge.open(str(f))


def test_a_cartridge_cannot_be_made_under_a_file(tmp_path):
    f = tmp_path / "plain"
    f.write_text("x")
    with pytest.raises(CartridgeError, match=r"plain/A00001L8: cannot make the cartridge there: Not a directory"):
        Cartridge.create(str(f / "A00001L8"))
