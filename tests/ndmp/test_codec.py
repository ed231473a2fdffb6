"""Messages to records and back: known answers written from the spec, and what a server
is told when a record is not a message it can serve."""
from __future__ import annotations

import pytest

from ndmp.codec import (
    Message,
    UnknownMessage,
    XdrDecodeError,
    decode,
    encode,
    reply,
    request,
)
from ndmp.constants import (
    AddrType,
    ConnectionStatusReason,
    ErrorCode,
    MessageType,
    TapeOpenMode,
)
from ndmp.constants import MessageCode as M
from ndmp.header import Header
from ndmp.messages import config, connect, mover, notify, tape
from ndmp.messages.common import Addr, Pval, TcpAddr
from ndmp.record import RecordReader, frame
from ndmp.xdr import XdrEncodeError, XdrError

TS = 0x6A9E4F00          # 2026-08-08, inside Wireshark's plausible-timestamp window


def hexbytes(*words: str) -> bytes:
    return bytes.fromhex("".join(words))


def head(seq: int, mtype: int, code: int, rseq: int = 0, err: int = 0) -> str:
    return f"{seq:08x}{TS:08x}{mtype:08x}{code:08x}{rseq:08x}{err:08x}"


KNOWN = [
    pytest.param(
        request(M.NDMP_CONNECT_OPEN, connect.ConnectOpenRequest(protocol_version=4), sequence=1, time_stamp=TS),
        hexbytes(head(1, 0, 0x900),
                 "00000004"),                                      # protocol_version (u_short in a word)
        id="CONNECT_OPEN(4)"),
    pytest.param(
        request(M.NDMP_NOTIFY_CONNECTION_STATUS, notify.NotifyConnectionStatusPost(
            reason=ConnectionStatusReason.NDMP_CONNECTED, protocol_version=4, text_reason="Hello"),
            sequence=1, time_stamp=TS),
        hexbytes(head(1, 0, 0x502),
                 "00000000",                                       # reason NDMP_CONNECTED
                 "00000004",                                       # protocol_version
                 "00000005", "48656c6c6f", "000000"),              # text_reason "Hello" + 3 pad
        id="NOTIFY_CONNECTION_STATUS"),
    pytest.param(
        request(M.NDMP_TAPE_OPEN, tape.TapeOpenRequest(device="/dev/nst0", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE),
                sequence=5, time_stamp=TS),
        hexbytes(head(5, 0, 0x300),
                 "00000009", "2f6465762f6e737430", "000000",       # device "/dev/nst0" + 3 pad
                 "00000001"),                                      # mode NDMP_TAPE_RDWR_MODE
        id="TAPE_OPEN"),
    pytest.param(
        Message(Header(9, TS, MessageType.NDMP_MESSAGE_REPLY, M.NDMP_MOVER_LISTEN, 8, ErrorCode.NDMP_NO_ERR),
                mover.MoverListenReply(error=ErrorCode.NDMP_NO_ERR, connect_addr=Addr(
                    addr_type=AddrType.NDMP_ADDR_TCP,
                    tcp_addr=[TcpAddr(ip_addr=0x7F000001, port=10001, addr_env=[])]))),
        hexbytes(head(9, 1, 0xA01, 8),
                 "00000000",                                       # error
                 "00000001",                                       # addr_type NDMP_ADDR_TCP
                 "00000001",                                       # tcp_addr<>: one address
                 "7f000001", "00002711",                           # 127.0.0.1, port 10001
                 "00000000"),                                      # addr_env<>: empty
        id="MOVER_LISTEN-reply-TCP"),
    pytest.param(
        Message(Header(3, TS, MessageType.NDMP_MESSAGE_REPLY, M.NDMP_CONFIG_GET_TAPE_INFO, 2, ErrorCode.NDMP_NO_ERR),
                config.ConfigGetTapeInfoReply(error=ErrorCode.NDMP_NO_ERR, tape_info=[config.DeviceInfo(
                    model="LTO-6", caplist=[config.DeviceCapability(
                        device="nrst0a", attr=3, capability=[Pval(name="EXECUTE_CDB", value="t")])])])),
        hexbytes(head(3, 1, 0x106, 2),
                 "00000000",                                       # error
                 "00000001",                                       # tape_info<>: one device
                 "00000005", "4c544f2d36", "000000",               #   model "LTO-6"
                 "00000001",                                       #   caplist<>: one capability
                 "00000006", "6e7273743061", "0000",               #     device "nrst0a"
                 "00000003",                                       #     attr REWIND|UNLOAD
                 "00000001",                                       #     capability<>: one pval
                 "0000000b", "455845435554455f434442", "00",       #       name "EXECUTE_CDB"
                 "00000001", "74", "000000"),                      #       value "t"
        id="CONFIG_GET_TAPE_INFO-reply"),
]


@pytest.mark.parametrize("message, wire", KNOWN)
def test_known_answers(message, wire):
    assert encode(message) == wire
    assert decode(wire) == message
    assert RecordReader().feed(frame(wire)) == [wire]
    assert frame(wire)[:4] == (0x80000000 | len(wire)).to_bytes(4, "big")


def test_message_names():
    m = decode(KNOWN[2].values[1])
    assert (m.name, m.code, m.is_reply) == ("NDMP_TAPE_OPEN", M.NDMP_TAPE_OPEN, False)


def test_short_record_has_no_header():
    with pytest.raises(XdrDecodeError, match="23 bytes is shorter than the 24-byte header") as info:
        decode(bytes(23))
    assert info.value.header is None


def test_unknown_message_keeps_the_header():
    with pytest.raises(UnknownMessage) as info:
        decode(hexbytes(head(4, 0, 0x203)))                       # v3's SCSI_SET_TARGET
    assert info.value.header.sequence == 4 and info.value.header.message_code == 0x203
    with pytest.raises(UnknownMessage, match="NDMP_LOG_FILE reply"):
        decode(hexbytes(head(4, 1, 0x602)))                       # posts are never answered


def test_bad_message_type_is_a_decode_error():
    with pytest.raises(XdrDecodeError, match="message_type 2 is neither") as info:
        decode(hexbytes(head(4, 2, 0x300)))
    assert info.value.header.sequence == 4


def test_bad_body_is_a_decode_error_with_the_header():
    wire = KNOWN[2].values[1][:-2]                                # TAPE_OPEN cut inside mode
    with pytest.raises(XdrDecodeError) as info:
        decode(wire)
    e = info.value
    assert isinstance(e, XdrError) and e.header.message_code == M.NDMP_TAPE_OPEN and e.path == ["mode"]
    assert str(e).startswith("NDMP_TAPE_OPEN request (sequence 5): mode: truncated")
    # What a server then sends back:
    answer = reply(e.header, ErrorCode.NDMP_XDR_DECODE_ERR, sequence=1, time_stamp=TS)
    assert encode(answer) == hexbytes(head(1, 1, 0x300, 5, 18))


def test_hostile_count_in_a_body():
    wire = hexbytes(head(1, 1, 0x106, 0), "00000000", "ffffffff")  # 4 billion tape devices, no bytes
    with pytest.raises(XdrDecodeError, match="tape_info: ndmp_device_info<> count 4294967295 cannot fit"):
        decode(wire)


def test_trailing_bytes_are_rejected_unless_allowed():
    wire = KNOWN[0].values[1] + b"\0\0\0\0"
    with pytest.raises(XdrDecodeError, match="4 bytes follow the body"):
        decode(wire)
    m = decode(wire, allow_trailing=True)
    assert m.body.protocol_version == 4 and m.trailing == 4


def test_header_error_means_no_body():
    wire = hexbytes(head(2, 1, 0x300, 1, ErrorCode.NDMP_NOT_SUPPORTED_ERR))
    m = decode(wire)
    assert m.body is None and m.header.error_code == ErrorCode.NDMP_NOT_SUPPORTED_ERR
    with pytest.raises(XdrDecodeError, match="4 bytes follow the header"):
        decode(wire + bytes(4))                                   # NDMJOB would not read a body either


def test_messages_without_a_body():
    m = request("CONFIG_GET_HOST_INFO", sequence=2, time_stamp=TS)
    assert encode(m) == hexbytes(head(2, 0, 0x100))
    assert decode(encode(m)).body is None
    with pytest.raises(XdrEncodeError, match="no body carries no value"):
        encode(request("CONFIG_GET_HOST_INFO", b"x", sequence=2))


def test_reply_helper():
    req = request(M.NDMP_TAPE_OPEN, tape.TapeOpenRequest(device="nrst0a", mode=0), sequence=41, time_stamp=TS)
    rep = reply(req.header, ErrorCode.NDMP_NO_ERR, tape.TapeOpenReply(error=ErrorCode.NDMP_DEVICE_BUSY_ERR),
                sequence=7, time_stamp=TS)
    assert (rep.header.sequence, rep.header.reply_sequence, rep.header.message_code) == (7, 41, M.NDMP_TAPE_OPEN)
    assert encode(rep) == hexbytes(head(7, 1, 0x300, 41), "00000002")
    with pytest.raises(XdrEncodeError, match="has no body"):
        encode(reply(req.header, ErrorCode.NDMP_NOT_SUPPORTED_ERR, tape.TapeOpenReply(error=0), sequence=8))


def test_encode_refuses_what_v4_does_not_have():
    with pytest.raises(XdrEncodeError, match="no NDMP v4 message 0x203"):
        encode(request(0x203, None, sequence=1))
    with pytest.raises(XdrEncodeError, match="needs a TapeOpenRequest"):
        encode(request(M.NDMP_TAPE_OPEN, connect.ConnectOpenRequest(protocol_version=4), sequence=1))


def test_time_stamp_defaults_to_now():
    import time
    m = request(M.NDMP_CONNECT_CLOSE, sequence=1)
    assert abs(m.header.time_stamp - time.time()) < 60
