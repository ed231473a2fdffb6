"""A stand-in for the kernel's half of a TCMU ring, for tests and the benchmark.

:class:`FakeKernel` writes entries exactly as ``drivers/target/target_core_user.c``
does (``queue_cmd_ring``): mailbox v2 at 0, the ring at 128 of ``cmdr_size``
bytes, the data area after it in 4 KiB blocks taken lowest-free-first and
merged into iovecs when contiguous, a PAD entry to the end of the ring when an
entry does not fit before it, ``cdb_off`` and ``iov_base`` as offsets from the
start of the map.  It reaps completions the way ``tcmu_handle_completions``
does, honouring ``TCMU_UFLAG_READ_LEN`` and ``TCMU_UFLAG_UNKNOWN_OP``.

:class:`KernelProcess` runs one in another process over a shared file (the
"interrupt" is a socketpair: :class:`SocketDoorbell` is the userspace end), so
the server under test shares memory with a different address space, as it
does with the real kernel.
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
import select
import socket
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from typing import Sequence

from vtl.tcmu.doorbell import DeviceGone
from vtl.tcmu.layout import (
    CDB_OFF_OFFSET, CMDR_OFF, CMDR_SIZE, DATA_BLOCK_SIZE, HDR_S,
    IOV_OFFSET, IOVEC_S, MAILBOX, MAILBOX_VERSION, OP_CMD, OP_PAD, OP_TMR, REQ_OFFSET, REQ_S,
    RSP_OFFSET, RSP_S, TMR_S, TMR_SIZE, U32_S, UFLAG_READ_LEN, UFLAG_UNKNOWN_OP,
    HEAD_WORD, TAIL_WORD, base_command_size, command_size, mailbox_words,
)

KICK = (1).to_bytes(4, sys.byteorder)
CHECK_CONDITION = 2


class Full(Exception):
    """No room in the ring or the data area until completions are reaped."""


@dataclass
class Cmd:
    """One thing for the fake kernel to queue."""

    cdb: bytes = b""
    data_out: bytes | None = None
    data_in_len: int = 0
    split: int = 0
    """Split the data into this many non-contiguous pieces (0 or 1: as allocated)."""
    tamper: dict = field(default_factory=dict)
    """Fields to overwrite after the entry is written: cdb_off, iov_cnt, iov_bidi_cnt,
    iov0_base, iov0_len, opcode (the low bits of len_op)."""
    tmr: tuple[int, list[int]] | None = None
    """A TMR entry (tmr_type, cmd_ids) instead of a command: it is never completed."""


@dataclass
class Completion:
    cmd_id: int
    status: int
    sense: bytes
    read_len: int | None
    """rsp.read_len when the entry carried TCMU_UFLAG_READ_LEN and it was non-zero."""
    data: bytes
    """Data-in as the kernel returns it to the initiator."""
    uflags: int


@dataclass
class _Inflight:
    blocks: Sequence[int]
    iovs: list[tuple[int, int]]
    data_in_len: int


def init_mailbox(buf, cmdr_size: int = CMDR_SIZE, start: int = 0, flags: int = 0xF) -> None:
    """Write a fresh mailbox as the kernel does when the device is configured."""
    memoryview(buf)[0:CMDR_OFF] = MAILBOX.build(dict(
        version=MAILBOX_VERSION, flags=flags, cmdr_off=CMDR_OFF, cmdr_size=cmdr_size,
        cmd_head=start, cmd_tail=start))


class FakeKernel:
    """The producer side of one ring over ``buf`` (whose mailbox is already set up)."""

    def __init__(self, buf, *, block: int = DATA_BLOCK_SIZE):
        self.mv = memoryview(buf)
        self.words = mailbox_words(buf)        # head and tail: single 32-bit accesses
        self.cmdr_off = U32_S.unpack_from(self.mv, 4)[0]
        self.cmdr_size = U32_S.unpack_from(self.mv, 8)[0]
        self.data_off = self.cmdr_off + self.cmdr_size
        self.block = block
        self.used = bytearray((len(self.mv) - self.data_off) // block)
        self.head = self.words[HEAD_WORD]
        self.last_cleaned = self.words[TAIL_WORD]
        self.inflight: dict[int, _Inflight] = {}
        self._next_id = 1
        self._zeros = bytes(4096)

    # -- space ---------------------------------------------------------------------
    def _ring_free(self) -> int:
        used = (self.head - self.last_cleaned) % self.cmdr_size
        return self.cmdr_size - used - 1       # one byte unused: full is not empty

    def _alloc(self, nbytes: int, pieces: int) -> Sequence[int]:
        """Blocks lowest-free-first, one at a time, as ``tcmu_get_empty_block`` takes them."""
        nb = -(-nbytes // self.block)
        used = self.used
        if pieces <= 1:
            j = used.find(0)
            if j >= 0 and j + nb <= len(used) and used.find(1, j, j + nb) < 0:
                used[j:j + nb] = b"\1" * nb          # the same blocks, found in one step
                return range(j, j + nb)
        per = -(-nb // pieces) if pieces > 1 else nb + 1
        blocks: list[int] = []
        i = 0
        while len(blocks) < nb:
            j = used.find(0, i)
            if j < 0:
                raise Full("data area")
            blocks.append(j)
            i = j + 1
            if len(blocks) % per == 0 and len(blocks) < nb:
                j = used.find(0, i)            # leave a free block between the pieces
                if j < 0:
                    raise Full("data area")
                i = j + 1
        for b in blocks:
            used[b] = 1
        return blocks

    def _free(self, blocks: Sequence[int]) -> None:
        if blocks and blocks[-1] - blocks[0] == len(blocks) - 1:
            self.used[blocks[0]:blocks[-1] + 1] = bytes(len(blocks))
        else:
            for b in blocks:
                self.used[b] = 0

    def _iovs(self, blocks: Sequence[int], nbytes: int) -> list[tuple[int, int]]:
        """Contiguous blocks share one iovec (``new_block_to_iov``)."""
        if blocks and blocks[-1] - blocks[0] == len(blocks) - 1:
            return [(self.data_off + blocks[0] * self.block, nbytes)]
        iovs: list[tuple[int, int]] = []
        prev = -2
        left = nbytes
        for b in blocks:
            ln = min(self.block, left)
            left -= ln
            if b == prev + 1:
                iovs[-1] = (iovs[-1][0], iovs[-1][1] + ln)
            else:
                iovs.append((self.data_off + b * self.block, ln))
            prev = b
        return iovs

    def _new_id(self) -> int:
        while True:
            i = self._next_id
            self._next_id = i % 0xFFFF + 1
            if i not in self.inflight:
                return i

    def _make_room(self, size: int) -> int:
        """Room for ``size`` bytes at the head, PAD included; returns the PAD's size."""
        to_end = self.cmdr_size - self.head
        pad = to_end if to_end < size else 0
        if size + pad > self._ring_free():
            raise Full("ring")
        return pad

    def _pad(self, pad: int) -> None:
        if pad:
            HDR_S.pack_into(self.mv, self.cmdr_off + self.head, pad | OP_PAD, 0, 0, 0)
            self.head = 0
            self.words[HEAD_WORD] = 0

    def _publish(self, size: int) -> None:
        self.head = (self.head + size) % self.cmdr_size
        self.words[HEAD_WORD] = self.head

    # -- queueing ------------------------------------------------------------------
    def submit(self, c: Cmd) -> int | None:
        """Queue one command (or TMR); its cmd_id, or None for a TMR.  Raises Full."""
        if c.tmr is not None:
            return self._submit_tmr(*c.tmr)
        mv = self.mv
        n = len(c.data_out) if c.data_out is not None else c.data_in_len
        blocks = self._alloc(n, c.split) if n else range(0)
        try:
            iovs = self._iovs(blocks, n)
            size = command_size(len(iovs), len(c.cdb))
            pad = self._make_room(size)
        except Full:
            self._free(blocks)
            raise
        if c.data_out is not None:             # the kernel copies data-out in before queueing
            src, pos = memoryview(c.data_out), 0
            for base, ln in iovs:
                mv[base:base + ln] = src[pos:pos + ln]
                pos += ln
        self._pad(pad)
        o = self.cmdr_off + self.head
        mv[o:o + size] = self._zeros[:size] if size <= len(self._zeros) else bytes(size)
        cmd_id = self._new_id()
        cdb_off = o + base_command_size(len(iovs))
        REQ_S.pack_into(mv, o + REQ_OFFSET, len(iovs), 0, 0, cdb_off, 0, 0)
        for i, (base, ln) in enumerate(iovs):
            IOVEC_S.pack_into(mv, o + IOV_OFFSET + 16 * i, base, ln)
        mv[cdb_off:cdb_off + len(c.cdb)] = c.cdb
        op = OP_CMD
        t = c.tamper
        if t:
            if "cdb_off" in t:
                mv[o + CDB_OFF_OFFSET:o + CDB_OFF_OFFSET + 8] = t["cdb_off"].to_bytes(8, sys.byteorder)
            if "iov_cnt" in t:
                U32_S.pack_into(mv, o + REQ_OFFSET, t["iov_cnt"])
            if "iov_bidi_cnt" in t:
                U32_S.pack_into(mv, o + REQ_OFFSET + 4, t["iov_bidi_cnt"])
            if "iov0_base" in t:
                IOVEC_S.pack_into(mv, o + IOV_OFFSET, t["iov0_base"], IOVEC_S.unpack_from(mv, o + IOV_OFFSET)[1])
            if "iov0_len" in t:
                IOVEC_S.pack_into(mv, o + IOV_OFFSET, IOVEC_S.unpack_from(mv, o + IOV_OFFSET)[0], t["iov0_len"])
            op = t.get("opcode", op)
        HDR_S.pack_into(mv, o, size | op, cmd_id, 0, 0)
        self.inflight[cmd_id] = _Inflight(blocks, iovs, c.data_in_len)
        self._publish(size)
        return cmd_id

    def _submit_tmr(self, tmr_type: int, cmd_ids: list[int]) -> None:
        size = -(-(TMR_SIZE + 2 * len(cmd_ids)) // 8) * 8
        pad = self._make_room(size)
        self._pad(pad)
        o = self.cmdr_off + self.head
        self.mv[o:o + size] = bytes(size)
        HDR_S.pack_into(self.mv, o, size | OP_TMR, 0, 0, 0)
        TMR_S.pack_into(self.mv, o + 8, tmr_type, len(cmd_ids))
        for i, cid in enumerate(cmd_ids):
            self.mv[o + TMR_SIZE + 2 * i:o + TMR_SIZE + 2 * i + 2] = cid.to_bytes(2, sys.byteorder)
        self._publish(size)
        return None

    # -- completions ---------------------------------------------------------------
    def reap(self) -> list[Completion]:
        """Every command userspace completed since the last reap, in ring order."""
        mv = self.mv
        tail = self.words[TAIL_WORD]
        out = []
        while self.last_cleaned != tail:
            o = self.cmdr_off + self.last_cleaned
            len_op, cmd_id, _kf, uflags = HDR_S.unpack_from(mv, o)
            length, op = len_op & ~7, len_op & 7
            if op not in (OP_PAD, OP_TMR):     # a CMD (or one we tampered to look unknown)
                inf = self.inflight.pop(cmd_id)
                status, read_len, sense = RSP_S.unpack_from(mv, o + RSP_OFFSET)
                if uflags & UFLAG_UNKNOWN_OP:
                    status = CHECK_CONDITION
                valid = bool(uflags & UFLAG_READ_LEN) and read_len > 0
                n = inf.data_in_len
                if valid:
                    n = min(n, read_len)
                if status == CHECK_CONDITION:
                    sense = sense[:8 + sense[7]]
                    if not valid or uflags & UFLAG_UNKNOWN_OP:
                        n = 0
                else:
                    sense = b""
                data = bytearray()
                for base, ln in inf.iovs:
                    if len(data) >= n:
                        break
                    data += mv[base:base + min(ln, n - len(data))]
                self._free(inf.blocks)
                out.append(Completion(cmd_id, status, bytes(sense), read_len if valid else None,
                                      bytes(data), uflags))
            self.last_cleaned = (self.last_cleaned + length) % self.cmdr_size
        return out


class SocketDoorbell:
    """The userspace end of a socketpair standing in for the uio fd's interrupt.

    The peer closing its end plays the backstore being removed: DeviceGone.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def _consume(self) -> bool:
        try:
            data = self.sock.recv(65536)      # every pending notification at once
        except BlockingIOError:
            return False
        except OSError as e:
            raise DeviceGone(str(e)) from None
        if not data:
            raise DeviceGone("the kernel side closed")
        return True

    def wait(self, timeout: float | None) -> bool:
        if self._consume():
            return True
        if timeout == 0:
            return False
        if not select.select([self.sock], [], [], timeout)[0]:
            return False
        return self._consume()

    def kick(self) -> None:
        try:
            self.sock.send(KICK)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise DeviceGone(str(e)) from None
        except BlockingIOError:
            pass                               # the peer has plenty of unread kicks already


# -- the kernel in another process ---------------------------------------------------

def _wait_kick(sock: socket.socket, timeout: float) -> None:
    sock.settimeout(timeout)
    if not sock.recv(65536):
        raise EOFError("userspace closed the doorbell")


def _run(k: FakeKernel, sock: socket.socket, cmds: list[Cmd], depth: int, timeout: float) -> list[Completion]:
    out: list[Completion] = []
    expected = sum(1 for c in cmds if c.tmr is None)
    i = inflight = 0
    while len(out) < expected:
        while i < len(cmds) and inflight < depth:
            try:
                cid = k.submit(cmds[i])
            except Full:
                if inflight == 0:
                    raise
                break
            i += 1
            if cid is not None:
                inflight += 1
            sock.send(KICK)
        got = k.reap()
        if not got:
            _wait_kick(sock, timeout)
            got = k.reap()
        inflight -= len(got)
        out += got
    return out


def _child(path: str, size: int, sock: socket.socket, conn, timeout: float) -> None:
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    os.close(fd)
    k = FakeKernel(m)
    reaped: list[Completion] = []
    while True:
        msg = conn.recv()
        try:
            op = msg[0]
            if op == "quit":
                conn.send(("ok", None))
                return
            if op == "run":
                conn.send(("ok", _run(k, sock, msg[1], msg[2], timeout)))
            elif op == "submit":
                ids = [k.submit(c) for c in msg[1]]
                if msg[2]:
                    sock.send(KICK)
                conn.send(("ok", ids))
            elif op == "collect":
                while len(reaped) < msg[1]:
                    got = k.reap()
                    if not got:
                        _wait_kick(sock, timeout)
                    reaped += got
                res, reaped = reaped[:msg[1]], reaped[msg[1]:]
                conn.send(("ok", res))
            elif op == "unplug":
                sock.close()
                conn.send(("ok", None))
            elif op == "state":
                conn.send(("ok", (k.head, k.last_cleaned, len(k.inflight))))
            else:
                raise ValueError(op)
        except Exception:
            conn.send(("error", traceback.format_exc()))


def shm_dir() -> str:
    """Where the kernel's memory lives best: tmpfs (/dev/shm) when there is one."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


class KernelProcess:
    """A FakeKernel in a child process, sharing a file-backed map with this one.

    ``map`` is what the server attaches (the whole map: mailbox, ring, data area)
    and ``doorbell`` its interrupt.  ``timeout`` only bounds how long the child
    waits for userspace before reporting an error, so a bug fails a test instead
    of hanging it.
    """

    def __init__(self, *, cmdr_size: int = CMDR_SIZE, data_size: int = 16 * 1024 * 1024,
                 start: int = 0, directory: str | None = None, timeout: float = 120.0):
        self.size = CMDR_OFF + cmdr_size + data_size
        fd, self.path = tempfile.mkstemp(prefix="tcmu-ring-", dir=directory or shm_dir())
        try:
            os.ftruncate(fd, self.size)
            self.map = mmap.mmap(fd, self.size, flags=mmap.MAP_SHARED,
                                 prot=mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        init_mailbox(self.map, cmdr_size, start)
        ours, theirs = socket.socketpair()
        self.doorbell = SocketDoorbell(ours)
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(self.path, self.size, theirs, child_conn, timeout),
                                 daemon=True)
        self._proc.start()
        theirs.close()
        child_conn.close()

    def _call(self, *msg):
        self._conn.send(msg)
        status, value = self._conn.recv()
        if status != "ok":
            raise AssertionError(f"fake kernel failed:\n{value}")
        return value

    def run(self, cmds: list[Cmd], depth: int = 1) -> list[Completion]:
        """Queue ``cmds`` keeping up to ``depth`` in flight; their completions, in order."""
        return self._call("run", cmds, depth)

    def submit(self, cmds: list[Cmd], kick: bool = True) -> list[int | None]:
        """Queue ``cmds`` and return at once (with ``kick``, ring the doorbell once)."""
        return self._call("submit", cmds, kick)

    def collect(self, n: int) -> list[Completion]:
        """Wait for the next ``n`` completions of commands queued with :meth:`submit`."""
        return self._call("collect", n)

    def state(self) -> tuple[int, int, int]:
        """(head, last reaped tail, commands in flight) as the kernel sees them."""
        return self._call("state")

    def unplug(self) -> None:
        """Close the kernel's end of the doorbell: the backstore is removed."""
        self._call("unplug")

    def close(self) -> None:
        if self._proc.is_alive():
            try:
                self._call("quit")
            except (EOFError, OSError, AssertionError):
                pass
        self._proc.join(30)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()
        self.doorbell.sock.close()
        try:
            self.map.close()
        except BufferError:
            pass                               # views still referenced: the GC unmaps it
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "KernelProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
