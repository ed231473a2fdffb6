"""Amanda's ndmjob, written by others, as the DMA: queries over MD5 and text authentication,
a wrong password, version 3; and Wireshark's reading of one such session captured live.

ndmjob exits 0 whatever happened in -q mode: it is judged by its output (``QR`` lines,
``#D "err ..."`` lines), as the notes in ../shared/notes/ndmp-peers.md say.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
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


TSHARK = shutil.which("tshark")


def _start_capture(port: int, path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([TSHARK, "-i", "lo", "-f", f"tcp port {port}", "-F", "pcap", "-w", str(path), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:                    # wait until it is capturing (or has failed)
        seen.append(line)
        if "Capture started" in line:          # from here on packets are captured
            return proc
    proc.wait()
    pytest.skip(f"tshark cannot capture on lo here: {''.join(seen).strip()}")


def _conversations_ended(path: Path, port: int) -> bool:
    """True once the (still growing) pcap file holds, for every connection to ``port``,
    both sides' FIN: then it holds every NDMP message too (dumpcap writes in batches)."""
    data = path.read_bytes() if path.exists() else b""
    if len(data) < 24:
        return False
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    syns = fins = 0
    off = 24
    while off + 16 <= len(data):
        (length,) = struct.unpack_from(order + "I", data, off + 8)
        pkt = data[off + 16:off + 16 + length]
        off += 16 + length
        if len(pkt) < length or len(pkt) < 14 + 20 + 14 or pkt[12:14] != b"\x08\x00" or pkt[23] != 6:
            continue
        tcp = 14 + (pkt[14] & 0x0F) * 4
        src, dst = struct.unpack_from(">HH", pkt, tcp)
        flags = pkt[tcp + 13]
        syns += dst == port and flags & 0x12 == 0x02          # SYN without ACK: a new connection
        fins += port in (src, dst) and flags & 0x01 == 0x01
    return syns > 0 and fins >= 2 * syns


def _ndmp_port_free() -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", NDMPPORT))
        except OSError:
            return False
    return True


@pytest.mark.skipif(TSHARK is None, reason="tshark not on PATH: the live NDMP session is not checked by Wireshark")
def test_captured_session_decodes_cleanly(tmp_path):
    # Wireshark 4.0's NDMP dissector only takes conversations on port 10000 ("-d" is not enough:
    # its sanity check looks at the port), so the live capture needs that port.
    if not _ndmp_port_free():
        pytest.skip(f"port {NDMPPORT} is in use: the live capture needs it (Wireshark's NDMP port)")
    port = NDMPPORT
    pcap = tmp_path / "ndmjob.pcap"
    capture = _start_capture(port, pcap)
    try:
        [out] = ndmjob(("-q", "-D", f"127.0.0.1:PORT/4m,ndmp,{PASSWORD}", "-T", f"127.0.0.1:PORT/4m,ndmp,{PASSWORD}"),
                       port=port)
        for _ in range(GUARD * 20):              # until the capture holds the end of both connections
            if _conversations_ended(pcap, port):
                break
            time.sleep(0.05)
    finally:
        capture.send_signal(signal.SIGINT)
        capture.wait(GUARD)
    assert errors(out) == [] and "  tape IBM ULT3580-TD6" in qr(out)

    def fields(*args: str) -> list[list[str]]:
        res = subprocess.run([TSHARK, "-r", str(pcap), "-d", f"tcp.port=={port},ndmp", *args],
                             check=True, capture_output=True, text=True, timeout=GUARD)
        return [line.split("\t") for line in res.stdout.splitlines() if line.strip()]

    assert fields("-Y", '_ws.malformed || _ws.expert.severity >= "Warning"') == []
    assert fields("-Y", "ndmp.msg_type==1 && ndmp.error > 0") == []
    rows = fields("-Y", "ndmp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
                  "-e", "tcp.srcport", "-e", "ndmp.msg", "-e", "ndmp.msg_type", "-e", "ndmp.sequence",
                  "-e", "ndmp.reply_sequence")
    requests, replies, names = set(), set(), set()
    for src, msgs, types, seqs, rseqs in rows:
        for msg, mtype, seq, rseq in zip(msgs.split(","), types.split(","), seqs.split(","), rseqs.split(",")):
            names.add(int(msg, 16))
            if mtype == "0" and src != str(port):
                requests.add((src, msg, seq))
            elif mtype == "1":
                replies.add((msg, rseq))
    assert {0x502, 0x900, 0x103, 0x901, 0x100, 0x108, 0x106} <= names          # NOTIFY ... TAPE_INFO
    assert requests and all((msg, seq) in replies for _, msg, seq in requests), (requests, replies)
