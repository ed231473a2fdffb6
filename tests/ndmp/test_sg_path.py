"""SgPath without hardware: the sg_io_hdr_t declaration against the kernel's layout, and
clear errors for a node that is not a SCSI device.  Real /dev/sg* nodes are exercised in
the VM tests."""
from __future__ import annotations

import ctypes

import pytest

from ndmp.scsi_path import PathError
from ndmp.sg_path import SG_DXFER_FROM_DEV, SG_IO_HDR, SgPath, SgTimeout, pack_header, unpack_header


class CSgIoHdr(ctypes.Structure):
    """<scsi/sg.h> struct sg_io_hdr, written out as C declares it: ctypes lays it out with
    the platform's C rules, independently of the struct format under test."""

    _fields_ = [("interface_id", ctypes.c_int), ("dxfer_direction", ctypes.c_int),
                ("cmd_len", ctypes.c_ubyte), ("mx_sb_len", ctypes.c_ubyte), ("iovec_count", ctypes.c_ushort),
                ("dxfer_len", ctypes.c_uint), ("dxferp", ctypes.c_void_p), ("cmdp", ctypes.c_void_p),
                ("sbp", ctypes.c_void_p), ("timeout", ctypes.c_uint), ("flags", ctypes.c_uint),
                ("pack_id", ctypes.c_int), ("usr_ptr", ctypes.c_void_p), ("status", ctypes.c_ubyte),
                ("masked_status", ctypes.c_ubyte), ("msg_status", ctypes.c_ubyte), ("sb_len_wr", ctypes.c_ubyte),
                ("host_status", ctypes.c_ushort), ("driver_status", ctypes.c_ushort), ("resid", ctypes.c_int),
                ("duration", ctypes.c_uint), ("info", ctypes.c_uint)]


def test_header_has_the_c_layout():
    assert SG_IO_HDR.size == ctypes.sizeof(CSgIoHdr)
    values = dict(interface_id=ord("S"), dxfer_direction=SG_DXFER_FROM_DEV, cmd_len=6, mx_sb_len=96,
                  iovec_count=0, dxfer_len=65536, dxferp=0x7FFF1234,
                  cmdp=0x5000, sbp=0x6000, timeout=600000, flags=0, pack_id=-7, usr_ptr=0, status=2, masked_status=1,
                  msg_status=0, sb_len_wr=18, host_status=7, driver_status=8, resid=-12, duration=42, info=1)
    packed = pack_header(**values)
    c = CSgIoHdr.from_buffer_copy(packed)
    for name, value in values.items():
        got = getattr(c, name)
        assert (got or 0) == value, name
    assert unpack_header(packed)._asdict() == values


def test_header_round_trip_of_what_the_kernel_writes_back():
    c = CSgIoHdr(status=0x02, sb_len_wr=18, host_status=0, driver_status=0x08, resid=512, duration=3)
    h = unpack_header(bytes(c))
    assert (h.status, h.sb_len_wr, h.driver_status, h.resid, h.duration) == (2, 18, 8, 512, 3)


def test_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no field bogus"):
        pack_header(bogus=1)


def test_dev_null_is_refused_clearly():
    with pytest.raises(PathError) as e:
        SgPath("/dev/null")
    assert "/dev/null is not a SCSI device" in str(e.value) and "/dev/sgN" in str(e.value)


def test_missing_node_and_directory_are_refused_clearly(tmp_path):
    with pytest.raises(PathError, match="cannot open .*missing"):
        SgPath(str(tmp_path / "missing"))
    with pytest.raises(PathError, match="cannot open|not a character device"):
        SgPath(str(tmp_path))
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    with pytest.raises(PathError, match="not a character device"):
        SgPath(str(plain))


def test_timeout_is_both_a_path_error_and_a_timeout():
    e = SgTimeout(110, "late")
    assert isinstance(e, PathError) and isinstance(e, TimeoutError)

