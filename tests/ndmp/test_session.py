"""The session state machine, driven through bytes: requests encoded with the codec, replies
decoded from what the session sends."""
from __future__ import annotations

import logging
import random
from collections import Counter

import pytest
from ndmp_dma import CLOCK, Dma, context, decode_any
from ndmp_fuzzing import make_stream, seed_record

from ndmp import codec
from ndmp.auth import AuthPolicy, md5_digest
from ndmp.constants import AuthType, ConnectionStatusReason, ErrorCode, MessageType
from ndmp.constants import MessageCode as M
from ndmp.events import (
    Authenticated,
    AuthenticationFailed,
    Closed,
    Opened,
    VersionRefused,
)
from ndmp.header import HEADER, Header
from ndmp.messages import config as cf
from ndmp.messages import connect as cn
from ndmp.messages import notify
from ndmp.messages.tape import TapeWriteRequest
from ndmp.record import RecordReader, frame
from ndmp.session import Session

OK = ErrorCode.NDMP_NO_ERR
REQ, REP = MessageType.NDMP_MESSAGE_REQUEST, MessageType.NDMP_MESSAGE_REPLY
PASSWORD = "jWZiNt57huPOoD8d"


def header_error(rep: codec.Message) -> ErrorCode:
    assert rep.body is None
    return rep.header.error_code


def raw_request(code: int, sequence: int, body: bytes = b"", *, mtype: int = REQ, error: int = 0) -> bytes:
    return frame(HEADER.encode(Header(sequence, int(CLOCK), mtype, code, 0, error)) + body)


# ---------------------------------------------------------------------- greeting and version

def test_greeting_is_notify_connection_status():
    dma = Dma()
    [notice] = dma.greeting
    assert notice.code == M.NDMP_NOTIFY_CONNECTION_STATUS and notice.header.message_type == REQ
    assert notice.body.reason == ConnectionStatusReason.NDMP_CONNECTED and notice.body.protocol_version == 4
    assert (notice.header.sequence, notice.header.time_stamp) == (1, int(CLOCK))


def test_open_v4_and_reply_header():
    dma = Dma()
    dma.sequence = 41
    rep = dma.open()
    assert rep.body.error == OK
    h = rep.header
    assert (h.sequence, h.reply_sequence, h.message_type, h.message_code, h.time_stamp) == \
        (2, 42, REP, M.NDMP_CONNECT_OPEN, int(CLOCK))
    assert dma.session.events() == [Opened(4)]


@pytest.mark.parametrize("version", [1, 2, 3, 5, 0xFFFF])
def test_other_versions_are_refused(version, caplog):
    dma = Dma()
    with caplog.at_level(logging.WARNING, logger="ndmp.session"):
        assert dma.open(version).body.error == ErrorCode.NDMP_ILLEGAL_ARGS_ERR
    assert f"ndmpd invalid version number: {version}" in caplog.text
    assert dma.session.events() == [VersionRefused(version)]
    assert header_error(dma.call(M.NDMP_CONFIG_GET_HOST_INFO)) == ErrorCode.NDMP_PRECONDITION_ERR
    assert dma.open(4).body.error == OK                      # the session survives and may still open


def test_version_cannot_change_once_open():
    dma = Dma()
    dma.open()
    assert dma.open(3).body.error == ErrorCode.NDMP_ILLEGAL_ARGS_ERR
    assert dma.open(4).body.error == OK


def test_connect_open_must_come_first():
    dma = Dma()
    assert header_error(dma.call(M.NDMP_CONFIG_GET_SERVER_INFO)) == ErrorCode.NDMP_PRECONDITION_ERR
    rep = dma.call(M.NDMP_CONFIG_GET_AUTH_ATTR, cf.ConfigGetAuthAttrRequest(auth_type=AuthType.NDMP_AUTH_MD5))
    assert header_error(rep) == ErrorCode.NDMP_PRECONDITION_ERR
    rep = dma.auth_text("ndmp", PASSWORD)
    assert header_error(rep) == ErrorCode.NDMP_PRECONDITION_ERR
    assert header_error(dma.call(M.NDMP_TAPE_GET_STATE)) == ErrorCode.NDMP_NOT_AUTHORIZED_ERR


# ---------------------------------------------------------------------- before authentication

ALLOWED_BEFORE_AUTH = [M.NDMP_CONFIG_GET_HOST_INFO, M.NDMP_CONFIG_GET_SERVER_INFO,
                       M.NDMP_CONFIG_GET_CONNECTION_TYPE, M.NDMP_CONFIG_GET_BUTYPE_INFO,
                       M.NDMP_CONFIG_GET_FS_INFO, M.NDMP_CONFIG_GET_TAPE_INFO, M.NDMP_CONFIG_GET_SCSI_INFO,
                       M.NDMP_CONFIG_GET_EXT_LIST]
REFUSED_BEFORE_AUTH = [M.NDMP_TAPE_GET_STATE, M.NDMP_SCSI_GET_STATE, M.NDMP_MOVER_GET_STATE,
                       M.NDMP_DATA_GET_STATE, M.NDMP_SCSI_CLOSE, M.NDMP_TAPE_CLOSE, M.NDMP_MOVER_ABORT]


def test_queries_before_authentication():
    dma = Dma()
    dma.open()
    for code in ALLOWED_BEFORE_AUTH:
        rep = dma.call(code)
        assert rep.header.error_code == OK and rep.body.error == OK, code
    assert len(dma.challenge()) == 64


def test_other_requests_before_authentication_are_not_authorized():
    dma = Dma()
    dma.open()
    for code in REFUSED_BEFORE_AUTH:
        assert header_error(dma.call(code)) == ErrorCode.NDMP_NOT_AUTHORIZED_ERR, code
    rep = dma.call(M.NDMP_CONFIG_SET_EXT_LIST, cf.ConfigSetExtListRequest(ndmp_selected_ext=[]))
    assert header_error(rep) == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    dma.login()
    assert dma.call(M.NDMP_TAPE_GET_STATE).body.error == ErrorCode.NDMP_DEV_NOT_OPEN_ERR    # served now


# ---------------------------------------------------------------------- authentication

def test_text_auth_wrong_then_right():
    dma = Dma()
    dma.open()
    dma.session.events()
    assert dma.auth_text("ndmp", "wrong").body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    assert dma.auth_text("nobody", PASSWORD).body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    assert header_error(dma.call(M.NDMP_TAPE_GET_STATE)) == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    assert dma.auth_text("ndmp", PASSWORD).body.error == OK
    events = dma.session.events()
    assert [type(e) for e in events] == [AuthenticationFailed, AuthenticationFailed, Authenticated]
    assert events[-1] == Authenticated("ndmp", "backup", "text")
    info = dma.session.info()
    assert (info.user, info.role, info.auth_type, info.phase) == ("ndmp", "backup", "text", "authenticated")


def test_md5_auth_ok_and_wrong():
    dma = Dma()
    dma.open()
    assert dma.auth_md5("ndmp", "wrong").body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    assert dma.auth_md5("admin", "adminpassword123").body.error == OK
    assert dma.session.info().role == "admin"


def test_md5_without_a_challenge():
    dma = Dma()
    dma.open()
    rep = dma.auth_md5_digest("ndmp", md5_digest(PASSWORD.encode(), bytes(64)))
    assert rep.body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR


def test_md5_replayed_digest_fails():
    victim = Dma()
    victim.open()
    challenge = victim.challenge()
    digest = md5_digest(PASSWORD.encode(), challenge)
    assert victim.auth_md5_digest("ndmp", digest).body.error == OK
    # The same digest again on the same session (the challenge was used) ...
    again = Dma()
    again.open()
    assert again.auth_md5_digest("ndmp", digest).body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    # ... or on another session after asking for a (different) challenge.
    assert again.challenge() != challenge
    assert again.auth_md5_digest("ndmp", digest).body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    assert again.auth_md5("ndmp", PASSWORD).body.error == OK


def test_md5_stale_challenge_fails():
    dma = Dma()
    dma.open()
    stale = dma.challenge()
    dma.challenge()
    rep = dma.auth_md5_digest("ndmp", md5_digest(PASSWORD.encode(), stale))
    assert rep.body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR


def test_second_authentication_is_illegal_state():
    dma = Dma()
    dma.login()
    assert dma.auth_text("admin", "adminpassword123").body.error == ErrorCode.NDMP_ILLEGAL_STATE_ERR
    assert dma.session.info().user == "ndmp"


def test_disabled_methods():
    dma = Dma(policy=AuthPolicy(text=False))
    dma.open()
    assert dma.auth_text("ndmp", PASSWORD).body.error == ErrorCode.NDMP_NOT_SUPPORTED_ERR
    assert dma.auth_md5("ndmp", PASSWORD).body.error == OK


def test_auth_none_is_not_supported():
    dma = Dma()
    dma.open()
    rep = dma.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(
        auth_data=cn.AuthData(auth_type=AuthType.NDMP_AUTH_NONE)))
    assert rep.body.error == ErrorCode.NDMP_NOT_SUPPORTED_ERR


# ---------------------------------------------------------------------- bad records

def test_undecodable_request_gets_xdr_decode_err_and_the_session_continues():
    dma = Dma()
    dma.open()
    [rep] = dma.raw(raw_request(M.NDMP_CONFIG_GET_AUTH_ATTR, 77, b"\0\0"))      # body cut short
    assert (rep.header.message_code, rep.header.reply_sequence, rep.header.message_type) == \
        (M.NDMP_CONFIG_GET_AUTH_ATTR, 77, REP)
    assert header_error(rep) == ErrorCode.NDMP_XDR_DECODE_ERR
    [rep] = dma.raw(raw_request(M.NDMP_CONFIG_GET_HOST_INFO, 78, b"\0\0\0\0"))  # trailing bytes
    assert header_error(rep) == ErrorCode.NDMP_XDR_DECODE_ERR
    [rep] = dma.raw(raw_request(M.NDMP_CONFIG_GET_HOST_INFO, 79, mtype=2))       # no such message type
    assert header_error(rep) == ErrorCode.NDMP_XDR_DECODE_ERR and rep.header.reply_sequence == 79
    [rep] = dma.raw(raw_request(M.NDMP_CONNECT_OPEN, 80, error=9))               # a request with a header error
    assert header_error(rep) == ErrorCode.NDMP_XDR_DECODE_ERR
    assert dma.raw(frame(b"\0" * 23)) == []                                        # no header: nothing to answer
    assert dma.call(M.NDMP_CONFIG_GET_HOST_INFO).body.hostname == "vtl1"
    assert not dma.session.closed


def test_unknown_message_gets_not_supported_and_the_session_continues():
    dma = Dma()
    [rep] = dma.raw(raw_request(0x203, 5))                     # v3's SCSI_SET_TARGET, before CONNECT_OPEN
    assert (rep.header.message_code, rep.header.reply_sequence) == (0x203, 5)
    assert header_error(rep) == ErrorCode.NDMP_NOT_SUPPORTED_ERR
    dma.login()
    [rep] = dma.raw(raw_request(0x12345678, 6, b"junk"))
    assert rep.header.message_code == 0x12345678 and header_error(rep) == ErrorCode.NDMP_NOT_SUPPORTED_ERR
    assert dma.call(M.NDMP_CONFIG_GET_HOST_INFO).body.error == OK


def test_replies_and_posts_from_the_dma_are_ignored():
    dma = Dma()
    dma.open()
    post = codec.request(M.NDMP_NOTIFY_CONNECTION_STATUS, notify.NotifyConnectionStatusPost(
        reason=0, protocol_version=4, text_reason="hi"), sequence=9)
    assert dma.raw(frame(codec.encode(post))) == []
    assert dma.raw(raw_request(M.NDMP_CONFIG_GET_HOST_INFO, 10, mtype=REP)) == []
    assert dma.raw(raw_request(M.NDMP_LOG_MESSAGE, 11, b"\1")) == []             # an undecodable post
    assert dma.raw(raw_request(0x602, 12, mtype=REP)) == []                        # a "reply" to a post
    assert dma.call(M.NDMP_CONFIG_GET_HOST_INFO).body.error == OK


def test_server_sequence_counts_every_message_it_sends():
    dma = Dma()
    seqs = [dma.greeting[0].header.sequence]
    seqs.append(dma.open().header.sequence)
    seqs += [m.header.sequence for m in dma.raw(raw_request(0x203, 99))]
    seqs.append(dma.call(M.NDMP_CONFIG_GET_HOST_INFO).header.sequence)
    assert seqs == [1, 2, 3, 4]


def test_byte_at_a_time():
    dma = Dma()
    req = codec.request(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4), sequence=1)
    replies = []
    for b in frame(codec.encode(req), fragment_size=5):
        replies += dma.raw(bytes([b]))
    assert len(replies) == 1 and replies[0].body.error == OK


def test_several_requests_in_one_read():
    dma = Dma()
    data = b"".join(frame(codec.encode(codec.request(code, body, sequence=n))) for n, (code, body) in enumerate([
        (M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4)),
        (M.NDMP_CONFIG_GET_HOST_INFO, None), (M.NDMP_CONFIG_GET_SERVER_INFO, None)], start=1))
    replies = dma.raw(data)
    assert [r.header.reply_sequence for r in replies] == [1, 2, 3]


# ---------------------------------------------------------------------- closing

def test_connect_close_is_not_answered_and_ends_the_session():
    dma = Dma()
    dma.open()
    close = frame(codec.encode(codec.request(M.NDMP_CONNECT_CLOSE, sequence=5)))
    more = frame(codec.encode(codec.request(M.NDMP_CONFIG_GET_HOST_INFO, sequence=6)))
    assert dma.raw(close + more) == []
    assert dma.session.closed
    assert dma.session.events()[-1] == Closed("the DMA sent CONNECT_CLOSE")
    assert dma.raw(more) == []


def test_end_of_file_closes():
    dma = Dma()
    dma.raw(b"\x80\0")
    dma.raw(b"")
    assert dma.session.closed and "in the middle of a message" in dma.session.close_reason


def test_oversized_record_before_authentication_shuts_down():
    dma = Dma()
    dma.open()
    [notice] = dma.raw((0x8000_0000 | 100_000).to_bytes(4, "big"))
    assert notice.code == M.NDMP_NOTIFY_CONNECTION_STATUS
    assert notice.body.reason == ConnectionStatusReason.NDMP_SHUTDOWN
    assert "exceeds the maximum of 65536 bytes" in notice.body.text_reason
    assert dma.session.closed


def test_large_records_after_authentication():
    dma = Dma()
    dma.login()
    rep = dma.call(M.NDMP_TAPE_WRITE, TapeWriteRequest(data_out=bytes(256 * 1024)))
    assert rep.body.error == ErrorCode.NDMP_DEV_NOT_OPEN_ERR       # decoded and served: no tape is open


def test_refused_and_shut_down_sessions():
    refused = Session(context(), refuse="NDMP session limit reached")
    [notice] = [decode_any(r) for r in RecordReader().feed(refused.outgoing())]
    assert notice.body.reason == ConnectionStatusReason.NDMP_REFUSED
    assert notice.body.text_reason == "NDMP session limit reached" and refused.closed
    dma = Dma()
    dma.login()
    dma.session.shutdown("terminated by an administrator")
    [notice] = dma.read()
    assert notice.body.reason == ConnectionStatusReason.NDMP_SHUTDOWN
    assert notice.body.text_reason == "terminated by an administrator" and dma.session.closed


def test_a_failing_handler_gets_undefined_err(caplog):
    dma = Dma()
    dma.open()

    def broken():
        raise RuntimeError("backend down")

    dma.session.context.backend.host_info = broken
    with caplog.at_level(logging.ERROR, logger="ndmp.session"):
        assert header_error(dma.call(M.NDMP_CONFIG_GET_HOST_INFO)) == ErrorCode.NDMP_UNDEFINED_ERR
    assert "backend down" in caplog.text
    assert dma.call(M.NDMP_CONFIG_GET_SERVER_INFO).body.error == OK


# ---------------------------------------------------------------------- fuzz

def test_random_and_mutated_records_never_break_a_session():
    """Every answer decodes and answers a request; a session ends only on a hostile record
    mark (too large) or CONNECT_CLOSE.  Sessions are renewed every ten streams, half of
    them authenticated, so every refusal path is reached."""
    rng = random.Random(5)
    seeds = [seed_record(rng) for _ in range(400)]
    seen = Counter()
    dma = Dma()
    for i in range(3000):
        if i % 10 == 0:
            dma = Dma()
            if i % 20 == 0:
                dma.login()
        stream, _ = make_stream(rng, seeds)
        if not stream:
            continue                  # b"" would mean end of file
        for out in dma.raw(stream):
            assert out.is_reply or out.code == M.NDMP_NOTIFY_CONNECTION_STATUS
            seen[out.header.error_code] += 1
        if dma.session.closed:
            reason = dma.session.close_reason
            assert "exceeds the maximum" in reason or "DMA sent CONNECT_CLOSE" in reason, reason
            dma = Dma()
    for error in (OK, ErrorCode.NDMP_XDR_DECODE_ERR, ErrorCode.NDMP_NOT_SUPPORTED_ERR,
                  ErrorCode.NDMP_NOT_AUTHORIZED_ERR, ErrorCode.NDMP_PRECONDITION_ERR):
        assert seen[error] > 0, (error, seen)
