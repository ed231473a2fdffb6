"""Live captures of NDMP sessions for Wireshark's dissector (tshark), written by others.

``captured(pcap)`` records every TCP conversation on Wireshark's NDMP port (10000:
Wireshark 4.0's NDMP dissector only takes conversations on that port, ``-d`` is
not enough because its sanity check looks at the port) while the body runs, and
waits until the capture holds the end of each connection.  ``problems(pcap)``
lists what a clean session must not show: malformed frames or NDMP frames with
warnings (a reply
with an error in its header has no body, and Wireshark 4.0 shows it malformed,
so it is caught here too), and requests without their reply.
"""
from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndmp.constants import NDMPPORT

TSHARK = shutil.which("tshark")
GUARD = 120


def port_free(port: int = NDMPPORT) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def require_capture() -> None:
    """Skip (one line) when a live capture cannot be made here."""
    if TSHARK is None:
        pytest.skip("tshark not on PATH (apt-get install tshark): live NDMP sessions not checked by Wireshark")
    if not port_free():
        pytest.skip(f"port {NDMPPORT} is in use: the live capture needs it (Wireshark's NDMP port)")


def _start(port: int, path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([TSHARK, "-i", "lo", "-f", f"tcp port {port}", "-F", "pcap", "-w", str(path), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:                    # wait until it is capturing (or has failed)
        seen.append(line)
        if "Capture started" in line:          # from here on packets are captured
            return proc
    proc.wait()
    pytest.skip(f"tshark cannot capture on lo here: {''.join(seen).strip()}")


def conversations_ended(path: Path, port: int) -> bool:
    """True once the (still growing) pcap file holds, for every connection to ``port``,
    both sides' FIN or a RST: then it holds every NDMP message too (dumpcap writes in
    batches)."""
    data = path.read_bytes() if path.exists() else b""
    if len(data) < 24:
        return False
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    syns = fins = resets = 0
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
        resets += port in (src, dst) and flags & 0x04 == 0x04
    return syns > 0 and fins + 2 * resets >= 2 * syns


@contextlib.contextmanager
def captured(pcap: Path, port: int = NDMPPORT) -> Iterator[Path]:
    proc = _start(port, pcap)
    try:
        yield pcap
        for _ in range(GUARD * 20):              # until the capture holds the end of every connection
            if conversations_ended(pcap, port):
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(GUARD)


def fields(pcap: Path, *args: str, port: int = NDMPPORT) -> list[list[str]]:
    res = subprocess.run([TSHARK, "-r", str(pcap), "-d", f"tcp.port=={port},ndmp", *args],
                         check=True, capture_output=True, text=True, timeout=GUARD)
    return [line.split("\t") for line in res.stdout.splitlines() if line.strip()]


def messages(pcap: Path, port: int = NDMPPORT) -> list[tuple[str, int, int, int, int]]:
    """Every NDMP message: (client port, code, type, sequence, reply sequence)."""
    rows = fields(pcap, "-Y", "ndmp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
                  "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "ndmp.msg", "-e", "ndmp.msg_type",
                  "-e", "ndmp.sequence", "-e", "ndmp.reply_sequence", port=port)
    out = []
    for src, dst, msgs, types, seqs, rseqs in rows:
        client = dst if src == str(port) else src
        if not msgs:                            # a frame carrying only the middle of a long record
            continue
        for msg, mtype, seq, rseq in zip(msgs.split(","), types.split(","), seqs.split(","), rseqs.split(",")):
            out.append((client, int(msg, 16), int(mtype), int(seq), int(rseq or 0)))
    return out


def problems(pcap: Path, port: int = NDMPPORT) -> list[str]:
    """What Wireshark finds wrong: nothing for a clean capture."""
    found = []
    # TCP's own expert warnings (a peer resetting a connection it has finished with) are
    # not about NDMP: only NDMP frames are held to "no warning".
    bad = fields(pcap, "-Y", '_ws.malformed || (ndmp && _ws.expert.severity >= "Warning")', port=port)
    if bad:
        found.append(f"{len(bad)} malformed or warning NDMP frames: {bad[:3]}")
    msgs = messages(pcap, port)
    if not msgs:
        found.append("no NDMP message in the capture")
    replies = {(c, code, rseq) for c, code, t, _, rseq in msgs if t == 1}
    posts = {0x501, 0x502, 0x503, 0x504, 0x505} | set(range(0x600, 0x700)) | set(range(0x700, 0x800))
    for client, code, mtype, seq, _ in msgs:
        if mtype == 0 and code not in posts and code != 0x902 and (client, code, seq) not in replies:
            found.append(f"request {code:#x} (sequence {seq}) from port {client} has no reply")
    return found


@contextlib.contextmanager
def checked_port(pcap: Path) -> Iterator[int]:
    """The port a server under test should listen on: Wireshark's NDMP port under a live
    capture when one can be made here (and then the capture must be clean when the body
    is done: serve and stop the server inside it), else any free port."""
    if TSHARK is None or not port_free():
        yield 0
        return
    with captured(pcap):
        yield NDMPPORT
    found = problems(pcap)
    assert found == [], found
