"""The registry: every v4 message has its bodies, and every body round-trips.

Values come from ndmp_values.strategy_for, which walks each declaration, so a
message added to the registry is covered here without being listed."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ndmp_values import strategy_for

from ndmp.codec import Message, decode, encode
from ndmp.constants import ErrorCode, MessageCode, MessageType
from ndmp.header import Header
from ndmp.messages import (
    EXCHANGES,
    NO_BODY,
    REGISTRY,
    body_for,
    is_post,
    lookup,
    name_of,
)
from ndmp.xdr import Struct

REQUEST, REPLY = MessageType.NDMP_MESSAGE_REQUEST, MessageType.NDMP_MESSAGE_REPLY
POSTS = {c for c in MessageCode if c.name.startswith(("NDMP_NOTIFY_", "NDMP_LOG_", "NDMP_FH_"))}


def test_registry_covers_every_message_code():
    assert set(EXCHANGES) == set(MessageCode)
    for code in MessageCode:
        assert (code, REQUEST) in REGISTRY, code.name
        assert ((code, REPLY) in REGISTRY) == (code not in POSTS), code.name
    assert len(REGISTRY) == 2 * len(MessageCode) - len(POSTS)


def test_posts_have_no_reply():
    assert {c for c in MessageCode if is_post(c)} == POSTS
    assert body_for(MessageCode.NDMP_LOG_FILE, REPLY) is None


def test_bodies_are_named_after_the_spec():
    for (code, mtype), body in REGISTRY.items():
        if body is NO_BODY:
            continue
        assert isinstance(body, Struct), code.name
        assert body.name.startswith("ndmp_"), body.name
        if mtype == REPLY and code != MessageCode.NDMP_TAPE_GET_STATE and code != MessageCode.NDMP_DATA_GET_STATE:
            assert body.fields[0] == ("error", body.fields[0][1]), body.name   # every reply starts with error


def test_field_names_follow_the_spec():
    assert [f for f, _ in body_for(MessageCode.NDMP_TAPE_OPEN, REQUEST).fields] == ["device", "mode"]
    assert [f for f, _ in body_for(MessageCode.NDMP_MOVER_LISTEN, REQUEST).fields] == ["mode", "addr_type"]
    assert [f for f, _ in body_for(MessageCode.NDMP_CONFIG_SET_EXT_LIST, REQUEST).fields] == ["ndmp_selected_ext"]


def test_name_lookups():
    assert lookup("NDMP_TAPE_OPEN") is MessageCode.NDMP_TAPE_OPEN
    assert lookup("tape_open") is MessageCode.NDMP_TAPE_OPEN
    assert name_of(0x300) == "NDMP_TAPE_OPEN"
    assert name_of(0x40C) == "0x40C"
    with pytest.raises(KeyError, match="SCSI_SET_TARGET"):
        lookup("SCSI_SET_TARGET")


@pytest.mark.parametrize("key", sorted(REGISTRY), ids=lambda k: f"{MessageCode(k[0]).name}-{MessageType(k[1]).name[13:]}"
                         if isinstance(k, tuple) else str(k))
@settings(max_examples=25)
@given(data=st.data())
def test_every_body_round_trips(key, data):
    code, mtype = key
    body = data.draw(strategy_for(REGISTRY[key]), label="body")
    seq = data.draw(st.integers(0, 2**32 - 1), label="sequence")
    header = Header(seq, 1_790_000_000, mtype, code, seq ^ 1 if mtype == REPLY else 0, ErrorCode.NDMP_NO_ERR)
    wire = encode(Message(header, body))
    message = decode(wire)
    assert message.body == body
    assert message.header == header
    assert encode(message) == wire
