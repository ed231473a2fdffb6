"""A tiny DMA for tests: speaks to a Session (or a socket) in bytes, through the codec.

Everything the tests see goes through the wire encoding: requests are encoded
and record-marked, replies are cut out of ``Session.outgoing()`` with a
RecordReader and decoded.  A reply to a message NDMP v4 does not have decodes
to its header only.
"""
from __future__ import annotations

import itertools
from typing import Any

from ndmp import codec
from ndmp.auth import Authenticator, AuthPolicy, Role, User, md5_digest
from ndmp.backend import HostInfo, StaticBackend, Volume, changer, tape_drive
from ndmp.constants import AuthType, ErrorCode
from ndmp.constants import MessageCode as M
from ndmp.context import ServerContext
from ndmp.messages import config as cf
from ndmp.messages import connect as cn
from ndmp.record import RecordReader, frame
from ndmp.session import Session

CLOCK = 1_790_000_000.0
USERS = [User("ndmp", Role.BACKUP, "jWZiNt57huPOoD8d"), User("admin", Role.ADMIN, "adminpassword123")]


_COUNTER = itertools.count(1)


def counting_random(n: int) -> bytes:
    """Distinct, reproducible "random" challenges."""
    k = next(_COUNTER)
    return bytes((k + i) & 0xFF for i in range(n))


def backend() -> StaticBackend:
    return StaticBackend(
        HostInfo("vtl1", "Linux", "6.1.0-28-amd64", "7f0101ab"),
        [Volume("/vtl1/vol1", "ext4", "/dev/vda1", total_size=10 << 30, used_size=4 << 30, avail_size=6 << 30),
         Volume("/vtl1/vol2")],
        [tape_drive("IBM ULT3580-TD6", 0, serial="1068000001"), tape_drive("HP Ultrium 5-SCSI", 1)],
        [changer("VTL Virtual Changer", "mc0", serial="CH000001")])


def context(policy: AuthPolicy | None = None, **kw: Any) -> ServerContext:
    return ServerContext(backend(), Authenticator(USERS, policy, random_bytes=counting_random),
                         clock=lambda: CLOCK, **kw)


def decode_any(record: bytes) -> codec.Message:
    try:
        return codec.decode(record)
    except codec.UnknownMessage as e:
        return codec.Message(e.header)


class Dma:
    """Drives one Session.  ``greeting`` is what the session sent first."""

    def __init__(self, session: Session | None = None, **context_kw: Any):
        self.session = session if session is not None else Session(context(**context_kw), session_id=1)
        self.sequence = 0
        self._reader = RecordReader()
        self.greeting = self.read()

    def read(self) -> list[codec.Message]:
        return [decode_any(r) for r in self._reader.feed(self.session.outgoing())]

    def raw(self, data: bytes) -> list[codec.Message]:
        self.session.receive(data)
        return self.read()

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def send(self, code: int | str, body: Any = None) -> list[codec.Message]:
        req = codec.request(code, body, sequence=self.next_sequence(), time_stamp=int(CLOCK))
        return self.raw(frame(codec.encode(req)))

    def call(self, code: int | str, body: Any = None) -> codec.Message:
        """Send a request; return its one reply (checked to answer it)."""
        replies = self.send(code, body)
        assert len(replies) == 1, replies
        rep = replies[0]
        assert rep.is_reply and rep.header.reply_sequence == self.sequence, rep.header
        return rep

    # ------------------------------------------------------------------ conversations

    def open(self, version: int = 4) -> codec.Message:
        return self.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=version))

    def challenge(self) -> bytes:
        rep = self.call(M.NDMP_CONFIG_GET_AUTH_ATTR, cf.ConfigGetAuthAttrRequest(auth_type=AuthType.NDMP_AUTH_MD5))
        assert rep.body.error == ErrorCode.NDMP_NO_ERR, rep.body
        return rep.body.server_attr.challenge

    def auth_text(self, user: str, password: str) -> codec.Message:
        return self.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id=user, auth_password=password))))

    def auth_md5_digest(self, user: str, digest: bytes) -> codec.Message:
        return self.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_MD5, auth_md5=cn.AuthMd5(auth_id=user, auth_digest=digest))))

    def auth_md5(self, user: str, password: str) -> codec.Message:
        return self.auth_md5_digest(user, md5_digest(password.encode(), self.challenge()))

    def login(self) -> None:
        assert self.open().body.error == ErrorCode.NDMP_NO_ERR
        assert self.auth_md5("ndmp", "jWZiNt57huPOoD8d").body.error == ErrorCode.NDMP_NO_ERR
