"""The 24-byte NDMP header."""
from __future__ import annotations

from ndmp.constants import ErrorCode, MessageCode, MessageType
from ndmp.header import HEADER, HEADER_SIZE, Header


def test_header_bytes():
    h = Header(sequence=7, time_stamp=0x6A9E_4F00, message_type=MessageType.NDMP_MESSAGE_REPLY,
               message_code=MessageCode.NDMP_TAPE_OPEN, reply_sequence=6, error_code=ErrorCode.NDMP_NOT_SUPPORTED_ERR)
    wire = bytes.fromhex("00000007" "6a9e4f00" "00000001" "00000300" "00000006" "00000001")
    assert HEADER_SIZE == 24
    assert HEADER.encode(h) == wire
    assert HEADER.decode(wire) == h


def test_unknown_code_and_error_stay_numbers():
    h = HEADER.decode(bytes.fromhex("00000001" "00000000" "00000000" "0000040c" "00000000" "00000063"))
    assert h.message_code == 0x40C and type(h.message_code) is int
    assert h.error_code == 99 and type(h.error_code) is int
