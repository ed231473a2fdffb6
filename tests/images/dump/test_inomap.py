"""Inode maps: BSD dump's bit layout and Linux dump's map size."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from images.dump import InodeMap
from images.dump.inomap import map_bytes


def test_bit_layout_is_setino():
    inomap = InodeMap(100)
    for ino in (1, 2, 8, 9, 99):
        inomap.add(ino)
    raw = inomap.raw
    # inode i is bit (i - 1) % 8 of byte (i - 1) // 8
    assert raw[0] == 0b1000_0011 and raw[1] == 0b0000_0001 and raw[12] == 0b0000_0100
    assert list(inomap) == [1, 2, 8, 9, 99] and len(inomap) == 5
    assert 8 in inomap and 7 not in inomap and 100 not in inomap and 0 not in inomap and "x" not in inomap


def test_map_size_is_linux_dumps():
    # Linux dump on a 32 MiB ext4 (8192 inodes, maxino 8193) writes a 2-block map.
    assert map_bytes(8193) == 2048
    assert map_bytes(3) == 1024 and map_bytes(8192) == 1024 and map_bytes(8193 + 8192) == 3072
    assert len(InodeMap(8193).raw) == 2048


def test_out_of_range_inodes_are_refused():
    inomap = InodeMap(10)
    with pytest.raises(ValueError):
        inomap.add(10)
    with pytest.raises(ValueError):
        inomap.add(0)
    with pytest.raises(ValueError):
        InodeMap(1)


@given(st.sets(st.integers(1, 20_000)))
def test_round_trip_through_tape_bytes(inodes):
    inomap = InodeMap(20_001)
    for ino in inodes:
        inomap.add(ino)
    back = InodeMap.from_bytes(inomap.raw)
    assert list(back) == sorted(inodes) == list(inomap)
    assert back.maxino == len(inomap.raw) * 8 + 1      # what Linux restore computes from the block count
