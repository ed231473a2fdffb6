"""A ScsiPath to a real device: the Linux SG_IO ioctl on ``/dev/sg*`` (or ``/dev/nst*``).

With it the NDMP server drives real tape drives and changers exactly as it
drives our emulated ones (DESIGN principle 2): the services build the same
CDBs and read the same sense.  ``sg_io_hdr_t`` (``<scsi/sg.h>``) is declared
once, as a ``struct`` format with named fields; the data direction follows
from the buffers given; the sense buffer is 96 bytes (SPC-4's largest
descriptor sense is 252, but 96 covers every fixed and stream-command block a
tape or changer returns and is what sg3_utils uses).

Failures that carry no SCSI status -- the adapter lost the device, the command
timed out, the node is not a SCSI device -- are :class:`~ndmp.scsi_path.PathError`
with a message that says which node, which command and what the kernel said.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat
import struct
from collections import namedtuple

from .scsi_path import CdbResult, PathError

__all__ = ["SG_IO_HDR", "SgPath", "SgTimeout", "pack_header", "unpack_header"]

# <scsi/sg.h>
SG_IO = 0x2285
SG_SCSI_RESET = 0x2284
SG_SCSI_RESET_DEVICE = 1
SG_GET_SCSI_ID = 0x2276
SCSI_IOCTL_GET_IDLUN = 0x5382
SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_DXFER_FROM_DEV = -1, -2, -3
SG_INTERFACE_ID = ord("S")
SENSE_BUFFER_SIZE = 96
MAX_CDB = 16          # SG_IO takes at most 16 bytes of CDB (cmd_len is a byte, the kernel caps it)

# struct sg_io_hdr, in declaration order, native alignment (the kernel's own ABI).
_FIELDS = (
    ("interface_id", "i"), ("dxfer_direction", "i"), ("cmd_len", "B"), ("mx_sb_len", "B"),
    ("iovec_count", "H"), ("dxfer_len", "I"), ("dxferp", "P"), ("cmdp", "P"), ("sbp", "P"),
    ("timeout", "I"), ("flags", "I"), ("pack_id", "i"), ("usr_ptr", "P"), ("status", "B"),
    ("masked_status", "B"), ("msg_status", "B"), ("sb_len_wr", "B"), ("host_status", "H"),
    ("driver_status", "H"), ("resid", "i"), ("duration", "I"), ("info", "I"),
)
SG_IO_HDR = struct.Struct("@" + "".join(f for _, f in _FIELDS) + "0P")    # "0P": the trailing padding C adds
SgIoHdr = namedtuple("SgIoHdr", [n for n, _ in _FIELDS])          # type: ignore[misc]
_DEFAULTS = {n: 0 for n, _ in _FIELDS}

# struct sg_scsi_id: host_no, channel, scsi_id, lun, scsi_type, h_cmd_per_lun, d_queue_depth, unused[2]
SG_SCSI_ID = struct.Struct("@iiiiihh2i")

# Host (adapter) and driver status words (<scsi/scsi.h>, drivers/scsi/sg.c).
HOST_STATUS = {
    0x01: "no connection to the device (DID_NO_CONNECT)", 0x02: "bus busy (DID_BUS_BUSY)",
    0x03: "timed out (DID_TIME_OUT)", 0x04: "bad target (DID_BAD_TARGET)", 0x05: "aborted (DID_ABORT)",
    0x06: "parity error (DID_PARITY)", 0x07: "adapter error (DID_ERROR)", 0x08: "bus reset (DID_RESET)",
    0x09: "bad interrupt (DID_BAD_INTR)", 0x0A: "passed through (DID_PASSTHROUGH)",
    0x0B: "soft error, retry (DID_SOFT_ERROR)", 0x0C: "requeue (DID_IMM_RETRY)",
    0x0D: "requeue (DID_REQUEUE)", 0x0E: "transport disrupted (DID_TRANSPORT_DISRUPTED)",
    0x0F: "transport failed (DID_TRANSPORT_FAILFAST)", 0x11: "nexus failure (DID_NEXUS_FAILURE)",
}
DRIVER_TIMEOUT = 0x06
DRIVER_SENSE = 0x08


def pack_header(**fields: int) -> bytes:
    """An sg_io_hdr_t with the given fields (others zero)."""
    unknown = set(fields) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"sg_io_hdr_t has no field {', '.join(sorted(unknown))}")
    return SG_IO_HDR.pack(*SgIoHdr(**{**_DEFAULTS, **fields}))


def unpack_header(data: bytes | bytearray) -> SgIoHdr:
    return SgIoHdr(*SG_IO_HDR.unpack(bytes(data)))


class SgTimeout(PathError, TimeoutError):
    """The command did not complete within its timeout (NDMP_TIMEOUT_ERR)."""


def _address_of(buffer: ctypes.Array) -> int:
    return ctypes.addressof(buffer)


class SgPath:
    """An open SCSI generic node.  Not thread-safe by itself: the services send one
    command at a time under their own lock."""

    def __init__(self, device: str):
        self.device = device
        try:
            self.fd = os.open(device, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise PathError(e.errno, f"cannot open {device}: {e.strerror}") from None
        try:
            if not stat.S_ISCHR(os.fstat(self.fd).st_mode):
                raise PathError(errno.ENODEV, f"{device} is not a character device, so not a SCSI generic "
                                              "node: give /dev/sgN (or /dev/nstN)")
            self._address = self._read_address()
            # SG_IO opened O_NONBLOCK returns at once on a busy tape; the commands themselves block.
            flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
            fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        except BaseException:
            self.close()
            raise

    def _read_address(self) -> tuple[int, int, int]:
        buf = bytearray(SG_SCSI_ID.size)
        try:
            fcntl.ioctl(self.fd, SG_GET_SCSI_ID, buf, True)
            host, _channel, target, lun, *_ = SG_SCSI_ID.unpack(buf)
            return host, target, lun
        except OSError:
            pass
        idlun = bytearray(8)
        try:
            fcntl.ioctl(self.fd, SCSI_IOCTL_GET_IDLUN, idlun, True)
        except OSError as e:
            raise PathError(e.errno, f"{self.device} is not a SCSI device (neither SG_GET_SCSI_ID nor "
                                     f"SCSI_IOCTL_GET_IDLUN works: {os.strerror(e.errno)}); give /dev/sgN "
                                     "(or /dev/nstN)") from None
        four_in_one, _host_unique = struct.unpack("@ii", idlun)
        return (four_in_one >> 24) & 0xFF, four_in_one & 0xFF, (four_in_one >> 8) & 0xFF

    @property
    def address(self) -> tuple[int, int, int]:
        return self._address

    def execute(self, cdb, data_out=None, data_in=None, *, timeout: float = 600.0) -> CdbResult:
        cdb = bytes(cdb)
        if not 6 <= len(cdb) <= MAX_CDB:
            raise PathError(errno.EINVAL, f"{self.device}: SG_IO takes CDBs of 6 to {MAX_CDB} bytes, not {len(cdb)}")
        if data_out is not None and data_in is not None:
            raise PathError(errno.EINVAL, f"{self.device}: a command moves data one way only")
        cmd = (ctypes.c_char * len(cdb)).from_buffer_copy(cdb)
        sense = (ctypes.c_char * SENSE_BUFFER_SIZE)()
        view: memoryview | None = None
        data = None
        if data_out is not None and len(data_out):
            direction = SG_DXFER_TO_DEV
            data = (ctypes.c_char * len(data_out)).from_buffer_copy(bytes(data_out))
        elif data_in is not None and (data_in if isinstance(data_in, int) else len(data_in)):
            direction = SG_DXFER_FROM_DEV
            view = memoryview(bytearray(data_in)) if isinstance(data_in, int) else data_in
            if view.readonly:
                raise PathError(errno.EINVAL, f"{self.device}: the data-in buffer is read-only")
            data = (ctypes.c_char * len(view)).from_buffer(view)
        else:
            direction = SG_DXFER_NONE
        millis = max(1, min(int(timeout * 1000), 0xFFFFFFFF))
        header = bytearray(pack_header(
            interface_id=SG_INTERFACE_ID, dxfer_direction=direction, cmd_len=len(cdb), mx_sb_len=SENSE_BUFFER_SIZE,
            dxfer_len=len(data) if data is not None else 0, dxferp=_address_of(data) if data is not None else 0,
            cmdp=_address_of(cmd), sbp=_address_of(sense), timeout=millis))
        try:
            fcntl.ioctl(self.fd, SG_IO, header, True)
        except OSError as e:
            what = "is not a SCSI generic device" if e.errno in (errno.ENOTTY, errno.EINVAL) else "failed"
            raise PathError(e.errno, f"{self.device}: SG_IO {what} for CDB {cdb.hex()}: "
                                     f"{os.strerror(e.errno)}") from None
        h = unpack_header(header)
        if h.host_status:
            text = HOST_STATUS.get(h.host_status, f"host status 0x{h.host_status:02X}")
            cls = SgTimeout if h.host_status == 0x03 else PathError
            raise cls(errno.EIO, f"{self.device}: CDB {cdb.hex()}: {text}")
        if h.driver_status & 0x0F == DRIVER_TIMEOUT:
            raise SgTimeout(errno.ETIMEDOUT, f"{self.device}: CDB {cdb.hex()} timed out after {millis} ms")
        if h.driver_status & 0x0F not in (0, DRIVER_SENSE):
            raise PathError(errno.EIO, f"{self.device}: CDB {cdb.hex()}: driver status 0x{h.driver_status:02X}")
        got = b""
        if h.sb_len_wr:
            got = bytes(sense.raw[:h.sb_len_wr])
        transferred = memoryview(b"")
        if view is not None:
            n = len(view) - max(0, min(h.resid, len(view)))
            transferred = view[:n]
        return CdbResult(h.status & 0xFF, transferred, got)

    def reset(self) -> None:
        value = bytearray(struct.pack("@i", SG_SCSI_RESET_DEVICE))
        try:
            fcntl.ioctl(self.fd, SG_SCSI_RESET, value, True)
        except OSError as e:
            raise PathError(e.errno, f"{self.device}: SG_SCSI_RESET (device) failed: {os.strerror(e.errno)}") from None

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        if getattr(self, "fd", -1) >= 0:
            self.close()
