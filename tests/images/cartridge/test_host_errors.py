"""The cartridge when the host cannot store its files: an index or a label write that
fails on a full file system loses nothing and is made good at a later sync point."""
from __future__ import annotations

import errno
import logging
import os

import pytest

from images.cartridge import Cartridge, CartridgeError

MIB = 1024 * 1024


def test_an_index_that_cannot_be_written_is_rewritten_later(tmp_path, monkeypatch):
    import images.cartridge.index as index
    path = str(tmp_path / "A00001L8")
    with Cartridge.create(path, capacity=8 * MIB) as cart:
        real = index.os.pwrite

        def full(fd, *args):
            if fd == cart.active.index.fd:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd, *args)
        monkeypatch.setattr(index.os, "pwrite", full)
        for i in range(200):                                 # checkpoints every 64 objects
            cart.active.write(memoryview(bytes([i]) * 10))
        cart.active.write_mark(1)
        assert cart.active.index.stale
        monkeypatch.setattr(index.os, "pwrite", real)
        cart.flush()                                         # the sync point writes it whole
        assert not cart.active.index.stale
        expected = open(cart.active.index.path, "rb").read()
    with Cartridge.open(path) as again:
        assert (again.active.eod, again.active.filemark_count) == (201, 1)
        assert open(again.active.index.path, "rb").read() == expected


def test_a_label_that_cannot_be_saved(tmp_path, monkeypatch, caplog):
    import images.cartridge.cartridge as cartridge
    path = str(tmp_path / "A00001L8")
    cart = Cartridge.create(path, capacity=8 * MIB)
    cart.active.write(memoryview(b"x" * 100))
    cart.mam_set_int(0x0003, 7)

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(cartridge, "write_atomically", full)
    with caplog.at_level(logging.WARNING):
        cart.flush()                                         # counters wait; the sync point holds
    assert "label not saved" in caplog.text
    with pytest.raises(CartridgeError, match="cannot save the cartridge label: No space left on device"):
        cart.write_protected = True                          # what the operator asked for fails loudly
    monkeypatch.undo()
    cart.close()                                             # and the counters are saved at last
    with Cartridge.open(path) as again:
        assert again.mam_int(0x0003) == 7 and again.active.eod == 1
