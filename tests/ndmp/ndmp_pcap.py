"""A minimal pcap writer: one TCP conversation over Ethernet/IPv4, enough for tshark.

Writes the classic libpcap format (not pcapng) with correct IPv4 total lengths,
TCP sequence and acknowledgement numbers and both checksums, so Wireshark's TCP
reassembly and NDMP dissector see exactly what a real capture would show.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

_ETH_IPV4 = 0x0800
_SYN, _ACK, _PSH = 0x02, 0x10, 0x08


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class TcpCapture:
    """Frames of one TCP connection, client -> server and back, written as pcap."""

    def __init__(self, out: BinaryIO, *, client: tuple[str, int] = ("127.0.0.1", 41000),
                 server: tuple[str, int] = ("127.0.0.1", 10000), start: float = 1_790_000_000.0):
        self.out = out
        self.client, self.server = client, server
        self.time = start
        self.seq = {"c": 1_000, "s": 50_000}
        self.frames = 0
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))   # Ethernet link type
        self._segment("c", _SYN, b"")
        self._segment("s", _SYN | _ACK, b"")
        self._segment("c", _ACK, b"")

    def send(self, from_client: bool, payload: bytes) -> int:
        """One segment carrying ``payload``; returns its frame number (1-based)."""
        self._segment("c" if from_client else "s", _PSH | _ACK, payload)
        return self.frames

    def _segment(self, side: str, flags: int, payload: bytes) -> None:
        src, dst = (self.client, self.server) if side == "c" else (self.server, self.client)
        other = "s" if side == "c" else "c"
        seq = self.seq[side]
        ack = self.seq[other] if flags & _ACK else 0
        tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 65535, 0, 0)
        src_ip, dst_ip = _ip(src[0]), _ip(dst[0])
        pseudo = src_ip + dst_ip + struct.pack(">BBH", 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack(">H", _checksum(pseudo + tcp + payload)) + tcp[18:]
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self.frames & 0xFFFF, 0x4000,
                         64, 6, 0, src_ip, dst_ip)
        ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
        eth = bytes.fromhex("020000000002" if side == "c" else "020000000001") \
            + bytes.fromhex("020000000001" if side == "c" else "020000000002") + struct.pack(">H", _ETH_IPV4)
        frame = eth + ip + tcp + payload
        self.time += 0.001
        secs = int(self.time)
        self.out.write(struct.pack("<IIII", secs, int((self.time - secs) * 1e6), len(frame), len(frame)))
        self.out.write(frame)
        self.frames += 1
        self.seq[side] = (seq + len(payload) + (1 if flags & _SYN else 0)) & 0xFFFFFFFF


def _ip(addr: str) -> bytes:
    return bytes(int(p) for p in addr.split("."))
