"""NdmpServer over real sockets on an ephemeral port, with a tiny client (and over TLS)."""
from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from typing import Any

import pytest
from ndmp_dma import USERS, backend, decode_any

from ndmp import codec
from ndmp.auth import md5_digest
from ndmp.constants import AuthType, ConnectionStatusReason, ErrorCode
from ndmp.constants import MessageCode as M
from ndmp.messages import config as cf
from ndmp.messages import connect as cn
from ndmp.record import RecordReader, frame
from ndmp.registry import SessionRegistry
from ndmp.server import NdmpServer

OK = ErrorCode.NDMP_NO_ERR
GUARD = 30          # seconds: only so that a bug hangs no test run; nothing here is timed


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.records = RecordReader()
        self.inbox: list[codec.Message] = []
        self.sequence = 0

    @classmethod
    async def connect(cls, port: int, tls: ssl.SSLContext | None = None) -> Client:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=tls), GUARD)
        return cls(r, w)

    async def receive(self) -> codec.Message | None:
        """The next message, or None at end of file."""
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(65536), GUARD)
            if not data:
                return None
            self.inbox += [decode_any(r) for r in self.records.feed(data)]
        return self.inbox.pop(0)

    async def call(self, code: int, body: Any = None) -> codec.Message:
        self.sequence += 1
        self.writer.write(frame(codec.encode(codec.request(code, body, sequence=self.sequence))))
        await self.writer.drain()
        rep = await self.receive()
        assert rep is not None and rep.header.reply_sequence == self.sequence
        return rep

    async def login(self) -> None:
        notice = await self.receive()
        assert notice.body.reason == ConnectionStatusReason.NDMP_CONNECTED
        assert (await self.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4))).body.error == OK
        attr = await self.call(M.NDMP_CONFIG_GET_AUTH_ATTR,
                               cf.ConfigGetAuthAttrRequest(auth_type=AuthType.NDMP_AUTH_MD5))
        digest = md5_digest(b"jWZiNt57huPOoD8d", attr.body.server_attr.challenge)
        rep = await self.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_MD5, auth_md5=cn.AuthMd5(auth_id="ndmp", auth_digest=digest))))
        assert rep.body.error == OK

    async def eof(self) -> bool:
        return await self.receive() is None

    def close(self) -> None:
        self.writer.close()


def server(**kw: Any) -> NdmpServer:
    return NdmpServer("127.0.0.1", 0, backend(), USERS, **kw)


def run(coro) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 4 * GUARD))


def test_a_session_over_tcp():
    async def main():
        async with server() as srv:
            assert srv.port != 0
            c = await Client.connect(srv.port)
            await c.login()
            rep = await c.call(M.NDMP_CONFIG_GET_HOST_INFO)
            assert rep.body.hostname == "vtl1"
            [info] = srv.registry.sessions()
            assert (info.user, info.phase, info.auth_type) == ("ndmp", "authenticated", "md5")
            assert info.peer.startswith("127.0.0.1:")
            c.writer.write(frame(codec.encode(codec.request(M.NDMP_CONNECT_CLOSE, sequence=99))))
            assert await c.eof()                    # no reply, the server closes
            c.close()
            while srv.registry.sessions():          # the slot is released when the handler returns
                await asyncio.sleep(0)
    run(main())


def test_client_disconnect_releases_the_slot():
    async def main():
        async with server(registry=SessionRegistry(1)) as srv:
            c = await Client.connect(srv.port)
            await c.receive()
            c.close()
            while len(srv.registry):
                await asyncio.sleep(0.01)
            c = await Client.connect(srv.port)
            assert (await c.receive()).body.reason == ConnectionStatusReason.NDMP_CONNECTED
            c.close()
    run(main())


def test_session_limit_refuses_with_a_reason():
    async def main():
        async with server(registry=SessionRegistry(1)) as srv:
            first = await Client.connect(srv.port)
            await first.login()
            second = await Client.connect(srv.port)
            notice = await second.receive()
            assert notice.code == M.NDMP_NOTIFY_CONNECTION_STATUS
            assert notice.body.reason == ConnectionStatusReason.NDMP_REFUSED
            assert "NDMP session limit reached" in notice.body.text_reason
            assert await second.eof()
            assert (await first.call(M.NDMP_CONFIG_GET_HOST_INFO)).body.error == OK
            first.close()
            second.close()
    run(main())


def test_kill_and_stop_tell_the_dma_why():
    async def main():
        srv = server()
        await srv.start()
        a, b = await Client.connect(srv.port), await Client.connect(srv.port)
        await a.login()
        await b.login()
        sa = srv.registry.sessions()[0].session_id
        assert srv.registry.kill(sa)
        notice = await a.receive()
        assert notice.body.reason == ConnectionStatusReason.NDMP_SHUTDOWN
        assert "terminated by an administrator" in notice.body.text_reason
        assert await a.eof()
        await srv.stop()
        notice = await b.receive()
        assert (notice.body.reason, notice.body.text_reason) == (ConnectionStatusReason.NDMP_SHUTDOWN,
                                                                 "the NDMP service is stopping")
        assert await b.eof()
        assert len(srv.registry) == 0
        a.close()
        b.close()
    run(main())


def test_garbage_does_not_end_the_connection():
    async def main():
        async with server() as srv:
            c = await Client.connect(srv.port)
            await c.login()
            host_info = codec.encode(codec.request(M.NDMP_CONFIG_GET_HOST_INFO, sequence=50))
            c.writer.write(frame(host_info + b"xyz"))                  # 3 stray bytes after the message
            await c.writer.drain()
            rep = await c.receive()
            assert rep.header.error_code == ErrorCode.NDMP_XDR_DECODE_ERR and rep.header.reply_sequence == 50
            unknown = b"\xff" * 8 + bytes(4) + b"\xff" * 4 + bytes(8)      # a request with code 0xFFFFFFFF
            c.writer.write(frame(unknown))
            await c.writer.drain()
            rep = await c.receive()
            assert rep.header.error_code == ErrorCode.NDMP_NOT_SUPPORTED_ERR
            assert (await c.call(M.NDMP_CONFIG_GET_SERVER_INFO)).body.vendor_name == "vtl"
            c.close()
    run(main())


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not on PATH: no certificate for the TLS test")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True, timeout=120)
    return d / "cert.pem", d / "key.pem"


def test_tls(tls_files):
    cert, key = tls_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))       # server-side authentication only

    async def main():
        async with server(tls_context=server_ctx) as srv:
            c = await Client.connect(srv.port, client_ctx)
            await c.login()
            assert (await c.call(M.NDMP_CONFIG_GET_HOST_INFO)).body.hostname == "vtl1"
            c.close()
            plain = await Client.connect(srv.port)                     # no TLS: no NDMP either
            plain.writer.write(frame(codec.encode(codec.request(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(
                protocol_version=4), sequence=1))))
            try:
                data = await asyncio.wait_for(plain.reader.read(), GUARD)
            except ConnectionError:
                data = b""
            assert not data.startswith(b"\x80")                       # no record mark of a greeting
            plain.close()
    run(main())
