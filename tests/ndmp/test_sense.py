"""ndmp.sense reads what a device returns: fixed (70h/71h) and descriptor (72h/73h) sense,
the stream bits, and INFORMATION as a signed residue.  The bytes are written out by hand
(the layouts of SPC-4 4.5), and cross-checked against the device side's encoder."""
from __future__ import annotations

import struct

import pytest

from ndmp.sense import Asc, Sense, SenseKey, parse_sense


def fixed(key: int, asc: int = 0, ascq: int = 0, *, info: int | None = None, fm=False, eom=False, ili=False,
          code: int = 0x70, additional: int = 10) -> bytes:
    b0 = code | (0x80 if info is not None else 0)
    b2 = (0x80 if fm else 0) | (0x40 if eom else 0) | (0x20 if ili else 0) | key
    body = struct.pack(">BBBiB", b0, 0, b2, info or 0, additional) + bytes(4) + bytes([asc, ascq, 0]) + bytes(3)
    return body[:8 + additional]


def descriptor(key: int, asc: int, ascq: int, *descriptors: bytes, code: int = 0x72) -> bytes:
    body = b"".join(descriptors)
    return bytes([code, key, asc, ascq, 0, 0, 0, len(body)]) + body


def information(value: int, valid: bool = True) -> bytes:
    return bytes([0x00, 0x0A, 0x80 if valid else 0, 0]) + (value & (2**64 - 1)).to_bytes(8, "big")


def stream(fm=False, eom=False, ili=False) -> bytes:
    return bytes([0x04, 0x02, 0, (0x80 if fm else 0) | (0x40 if eom else 0) | (0x20 if ili else 0)])


def test_fixed_short_record_read():
    s = parse_sense(fixed(SenseKey.NO_SENSE, info=512, ili=True))
    assert s == Sense(SenseKey.NO_SENSE, 0, 0, ili=True, information=512)


def test_fixed_information_is_signed():
    # READ of a record longer than the transfer length: a negative residue (SSC-4 6.4)
    s = parse_sense(fixed(SenseKey.NO_SENSE, info=-1024, ili=True))
    assert s.information == -1024 and s.ili and not s.filemark


def test_fixed_filemark_eom_and_codes():
    s = parse_sense(fixed(SenseKey.NO_SENSE, 0x00, 0x01, info=3, fm=True))
    assert s.filemark and s.code == Asc.FILEMARK_DETECTED and s.information == 3
    s = parse_sense(fixed(SenseKey.NO_SENSE, 0x00, 0x04, info=99, eom=True))
    assert s.eom and s.is_(SenseKey.NO_SENSE, Asc.BEGINNING_OF_PARTITION_MEDIUM_DETECTED)
    s = parse_sense(fixed(SenseKey.NOT_READY, 0x3A, 0x02))
    assert s.is_(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT) and not s.is_(SenseKey.NOT_READY, (0x3A, 0x00))


def test_fixed_without_valid_bit_has_no_information():
    s = parse_sense(fixed(SenseKey.BLANK_CHECK, 0x00, 0x05))
    assert s.key == SenseKey.BLANK_CHECK and s.information is None


def test_deferred_fixed():
    s = parse_sense(fixed(SenseKey.MEDIUM_ERROR, 0x0C, 0x00, code=0x71))
    assert s.deferred and s.key == SenseKey.MEDIUM_ERROR


def test_fixed_cut_short_keeps_what_arrived():
    s = parse_sense(fixed(SenseKey.UNIT_ATTENTION, 0x29, 0x00)[:8])
    assert s == Sense(SenseKey.UNIT_ATTENTION)
    s = parse_sense(fixed(SenseKey.UNIT_ATTENTION, 0x29, 0x00, additional=6))
    assert s.code == (0x29, 0x00)


def test_descriptor_with_information_and_stream_bits():
    s = parse_sense(descriptor(SenseKey.NO_SENSE, 0, 1, information(7), stream(fm=True)))
    assert s == Sense(SenseKey.NO_SENSE, 0, 1, filemark=True, information=7)
    s = parse_sense(descriptor(SenseKey.NO_SENSE, 0, 0, stream(ili=True), information(-100)))
    assert s.ili and s.information == -100
    s = parse_sense(descriptor(SenseKey.VOLUME_OVERFLOW, 0, 2, information(4096), stream(eom=True)))
    assert s.key == SenseKey.VOLUME_OVERFLOW and s.eom and s.information == 4096


def test_descriptor_skips_unknown_descriptors_and_invalid_information():
    sks = bytes([0x02, 0x06, 0xC0, 0x00, 0x02, 0x00, 0, 0])
    s = parse_sense(descriptor(SenseKey.ILLEGAL_REQUEST, 0x24, 0, sks, information(5, valid=False)))
    assert s == Sense(SenseKey.ILLEGAL_REQUEST, 0x24, 0)


def test_descriptor_deferred_and_cut_short():
    s = parse_sense(descriptor(SenseKey.HARDWARE_ERROR, 0x44, 0, code=0x73))
    assert s.deferred and s.asc == 0x44
    whole = descriptor(SenseKey.NO_SENSE, 0, 1, stream(fm=True), information(9))
    s = parse_sense(whole[:-3])                           # the information descriptor did not fit
    assert s.filemark and s.information is None


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x05", b"\x7f" + bytes(17)])
def test_not_sense(data):
    assert parse_sense(data) is None


def test_a_lone_fixed_header_byte():
    # 70h with VALID set and nothing after it: everything that did not arrive is zero
    assert parse_sense(b"\xf0") == Sense(SenseKey.NO_SENSE, information=0)


@pytest.mark.parametrize("descriptor_format", [False, True])
def test_agrees_with_the_device_side_encoder(descriptor_format):
    from scsi.sense import Sense as DeviceSense
    from scsi.sense import SenseKey as K
    cases = [DeviceSense(K.NO_SENSE, 0, 0, ili=True, information=-300),
             DeviceSense(K.NO_SENSE, 0, 1, filemark=True, information=12),
             DeviceSense(K.BLANK_CHECK, 0, 5, information=99),
             DeviceSense(K.VOLUME_OVERFLOW, 0, 2, eom=True, information=65536),
             DeviceSense(K.UNIT_ATTENTION, 0x2A, 0x03),
             DeviceSense(K.DATA_PROTECT, 0x27, 0, deferred=True)]
    for d in cases:
        s = parse_sense(d.encode(descriptor_format))
        assert (s.key, s.asc, s.ascq, s.filemark, s.eom, s.ili, s.information, s.deferred) == \
            (d.key, d.asc, d.ascq, d.filemark, d.eom, d.ili, d.information, d.deferred)
