"""Amanda's ndmjob, written by others, as the DMA: queries over MD5 and text authentication,
a wrong password, version 3; and Wireshark's reading of one such session captured live.

ndmjob exits 0 whatever happened in -q mode: it is judged by its output (``QR`` lines,
``#D "err ..."`` lines), as the notes in ../shared/notes/ndmp-peers.md say.
"""
from __future__ import annotations

import asyncio
import os

import pytest
from ndmp_capture import captured, messages, problems, require_capture
from ndmp_dma import USERS, backend

from ndmp.constants import NDMPPORT
from ndmp.server import NdmpServer

NDMJOB = "/usr/lib/amanda/ndmjob"
if not os.access(NDMJOB, os.X_OK):
    pytest.skip(f"{NDMJOB} not found (apt-get install amanda-common amanda-server): NDMP server not checked "
                "against ndmjob", allow_module_level=True)

PASSWORD = "jWZiNt57huPOoD8d"
GUARD = 120          # seconds: only so that a hang ends the run; nothing is timed


async def _ndmjob(port: int, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        NDMJOB, *[a.replace("PORT", str(port)) for a in args],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(proc.communicate(), GUARD)
    return out.decode(errors="replace")


def ndmjob(*runs: tuple[str, ...], port: int = 0) -> list[str]:
    """Start a server, run ndmjob once per ``runs`` entry ("PORT" is replaced), stop it."""
    async def main() -> list[str]:
        async with NdmpServer("127.0.0.1", port, backend(), USERS) as srv:
            return [await _ndmjob(srv.port, *args) for args in runs]
    return asyncio.run(main())


def qr(output: str) -> list[str]:
    return [line[4:-1] for line in output.splitlines() if line.startswith('QR "')]


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if "err " in line or "failed" in line or "ERR" in line]


def test_query_with_md5_and_text():
    md5, text = ndmjob(("-q", "-D", f"127.0.0.1:PORT/4m,ndmp,{PASSWORD}"),
                       ("-q", "-D", f"127.0.0.1:PORT/4t,ndmp,{PASSWORD}", "-T", f"127.0.0.1:PORT/4t,ndmp,{PASSWORD}"))
    for out in (md5, text):
        lines = qr(out)
        assert errors(out) == [], out
        assert "Data Agent 127.0.0.1 NDMPv4" in lines
        assert "    hostname   vtl1" in lines and "    vendor     vtl" in lines
        assert "    auths      (2)  NDMP4_AUTH_TEXT NDMP4_AUTH_MD5" in lines
        assert "    addr_types (2)  NDMP4_ADDR_LOCAL NDMP4_ADDR_TCP" in lines
        assert "  Backup type info of dump format" in lines and "  Backup type info of smtape format" in lines
        assert "  File system /vtl1/vol1" in lines
    lines = qr(text)
    assert "Tape Agent 127.0.0.1 NDMPv4" in lines
    assert "  tape IBM ULT3580-TD6" in lines and "    device     nrst0a" in lines


@pytest.mark.parametrize("flags", ["4m", "4t"])
def test_wrong_password_fails(flags):
    [out] = ndmjob(("-q", "-D", f"127.0.0.1:PORT/{flags},ndmp,wrong"))
    assert "Host info" not in out
    assert "err connect-auth" in out, out


def test_version_3_is_refused():
    [out] = ndmjob(("-q", "-D", f"127.0.0.1:PORT/3m,ndmp,{PASSWORD}"))
    assert "err connect-open-failed" in out and "Host info" not in out, out


def test_captured_session_decodes_cleanly(tmp_path):
    require_capture()
    pcap = tmp_path / "ndmjob.pcap"
    with captured(pcap):
        [out] = ndmjob(("-q", "-D", f"127.0.0.1:PORT/4m,ndmp,{PASSWORD}", "-T", f"127.0.0.1:PORT/4m,ndmp,{PASSWORD}"),
                       port=NDMPPORT)
    assert errors(out) == [] and "  tape IBM ULT3580-TD6" in qr(out)
    assert problems(pcap) == []
    names = {code for _, code, _, _, _ in messages(pcap)}
    assert {0x502, 0x900, 0x103, 0x901, 0x100, 0x108, 0x106} <= names          # NOTIFY ... TAPE_INFO
