"""Wireshark's NDMP dissector, written by others, reads what we encode.

A capture holds a realistic request and reply of every NDMP v4 message (plus a
record in several fragments, a record split across TCP segments and two records
in one segment).  tshark must find no malformed frame, see every message where
we put it, under the name we give it, and read a few fields back with the values
we encoded.

A reply whose header carries an error has no body (NDMJOB neither sends nor
reads one), but Wireshark 4.0 always reads a reply body and marks such a frame
"[Malformed Packet]"; it is checked in a capture of its own, for its header.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ndmp_pcap import TcpCapture
from ndmp_samples import CHALLENGE, SAMPLES, md5_digest

from ndmp import codec
from ndmp.constants import ErrorCode, MessageType
from ndmp.constants import MessageCode as M
from ndmp.messages import is_post
from ndmp.messages.tape import TapeWriteRequest
from ndmp.record import frame

TSHARK = shutil.which("tshark")
if TSHARK is None:
    pytest.skip("tshark not on PATH (apt-get install tshark): Wireshark's reading of our NDMP encoding "
                "not checked", allow_module_level=True)

TIME_STAMP = 1_790_000_000          # Sept 2026: Wireshark ignores NDMP headers dated outside 1980-2030
REQ, REP = MessageType.NDMP_MESSAGE_REQUEST, MessageType.NDMP_MESSAGE_REPLY

# Where Wireshark's names differ from the spec's (its table predates the v4 names).
WIRESHARK_NAMES = {M.NDMP_NOTIFY_CONNECTION_STATUS: "NOTIFY_CONNECTED"}
NOT_IN_WIRESHARK = {M.NDMP_DATA_START_RECOVER_FILEHIST}   # Wireshark 4.0: "Message: Unknown (0x0000040b)"

# A few fields Wireshark decodes independently, at the first frame of each message.
FIELDS = {
    (M.NDMP_TAPE_OPEN, REQ): {"ndmp.tape.device": "nrst0a", "ndmp.tape.open_mode": "1"},
    (M.NDMP_CONFIG_GET_HOST_INFO, REP): {"ndmp.hostname": "vtl1", "ndmp.os.version": "6.1.0-28-amd64"},
    (M.NDMP_CONFIG_GET_TAPE_INFO, REP): {"ndmp.tape.model": "IBM ULT3580-TD6", "ndmp.tape.device": "nrst0a,rst0a"},
    (M.NDMP_CONNECT_CLIENT_AUTH, REQ): {"ndmp.auth.id": "ndmp",
                                        "ndmp.auth.digest": md5_digest(b"secret", CHALLENGE).hex()},
    (M.NDMP_MOVER_LISTEN, REP): {"ndmp.addr.ip": "127.0.0.1", "ndmp.addr.tcp_port": "40125"},
    (M.NDMP_MOVER_SET_WINDOW, REQ): {"ndmp.window.offset": "0", "ndmp.window.length": str(2**64 - 1)},
    (M.NDMP_TAPE_GET_STATE, REP): {"ndmp.tape.status.file_num": "2", "ndmp.tape.status.total_space": "2500000000000"},
    (M.NDMP_TAPE_MTIO, REQ): {"ndmp.tape.mtio.op": "0", "ndmp.count": "2"},
    (M.NDMP_LOG_MESSAGE, REQ): {"ndmp.log.message": "DUMP: Date of this level 0 dump: Tue Sep 1 2026"},
    (M.NDMP_DATA_START_BACKUP, REQ): {"ndmp.butype.name": "dump", "ndmp.butype.env.name": "FILESYSTEM,HIST,TYPE,LEVEL"},
    (M.NDMP_SCSI_EXECUTE_CDB, REP): {"scsi.inquiry.product_id": "Virtual Changer "},
    (M.NDMP_TAPE_EXECUTE_CDB, REP): {"scsi.sns.key": "0x02", "scsi.sns.asc": "0x3a"},
}


def build_capture(path: Path) -> dict[int, list[tuple[int, int, int]]]:
    """Write the capture; return frame number -> [(code, type, header error)] in it."""
    expected: dict[int, list[tuple[int, int, int]]] = {}
    seq = {"dma": 1, "server": 1}

    def message(side: str, m_code: M, body, *, req_header=None, error=ErrorCode.NDMP_NO_ERR) -> codec.Message:
        n = seq[side]
        seq[side] += 1
        if req_header is None:
            return codec.request(m_code, body, sequence=n, time_stamp=TIME_STAMP)
        return codec.reply(req_header, error, body, sequence=n, time_stamp=TIME_STAMP)

    with path.open("wb") as out:
        cap = TcpCapture(out)

        def send(from_dma: bool, *messages: codec.Message, fragment_size: int | None = None) -> None:
            data = b"".join(frame(codec.encode(m), fragment_size=fragment_size) for m in messages)
            number = cap.send(from_dma, data)
            expected[number] = [(m.header.message_code, m.header.message_type, m.header.error_code) for m in messages]

        order = [M.NDMP_NOTIFY_CONNECTION_STATUS, M.NDMP_CONNECT_OPEN]
        order += [c for c in SAMPLES if c not in order]
        for code in order:
            sample = SAMPLES[code]
            if is_post(code):
                send(False, message("server", code, sample[0]))
                continue
            req = message("dma", code, sample[0])
            send(True, req)
            send(False, message("server", code, sample[1], req_header=req.header))

        # A reply in 16-byte fragments, all in one segment: Wireshark reassembles it.
        req = message("dma", M.NDMP_CONFIG_GET_TAPE_INFO, None)
        send(True, req)
        send(False, message("server", M.NDMP_CONFIG_GET_TAPE_INFO, SAMPLES[M.NDMP_CONFIG_GET_TAPE_INFO][1],
                            req_header=req.header), fragment_size=16)
        # Two requests in one segment.
        send(True, message("dma", M.NDMP_MOVER_GET_STATE, None), message("dma", M.NDMP_TAPE_GET_STATE, None))
        # An 8 KiB tape record across two segments: the message is in the second frame.
        data = frame(codec.encode(message("dma", M.NDMP_TAPE_WRITE, TapeWriteRequest(data_out=bytes(8192)))))
        cap.send(True, data[:3000])
        number = cap.send(True, data[3000:])
        expected[number] = [(M.NDMP_TAPE_WRITE, REQ, ErrorCode.NDMP_NO_ERR)]
    return expected


def build_header_error_capture(path: Path) -> None:
    """CONNECT_OPEN, then a request answered with NDMP_NOT_SUPPORTED_ERR in the header (frames 4-7)."""
    with path.open("wb") as out:
        cap = TcpCapture(out)
        req = codec.request(M.NDMP_CONNECT_OPEN, SAMPLES[M.NDMP_CONNECT_OPEN][0], sequence=1, time_stamp=TIME_STAMP)
        cap.send(True, frame(codec.encode(req)))
        rep = codec.reply(req.header, ErrorCode.NDMP_NO_ERR, SAMPLES[M.NDMP_CONNECT_OPEN][1], sequence=1,
                          time_stamp=TIME_STAMP)
        cap.send(False, frame(codec.encode(rep)))
        req = codec.request(M.NDMP_SCSI_RESET_DEVICE, None, sequence=2, time_stamp=TIME_STAMP)
        cap.send(True, frame(codec.encode(req)))
        rep = codec.reply(req.header, ErrorCode.NDMP_NOT_SUPPORTED_ERR, None, sequence=2, time_stamp=TIME_STAMP)
        cap.send(False, frame(codec.encode(rep)))


def tshark(*args: str) -> list[list[str]]:
    out = subprocess.run([TSHARK, *args], check=True, capture_output=True, text=True, timeout=120).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def printed_message_names(path: Path) -> dict[int, list[str]]:
    """Frame number -> the message names tshark prints ("Message: CONNECT_OPEN (0x00000900)")."""
    pdml = subprocess.run([TSHARK, "-r", str(path), "-d", "tcp.port==10000,ndmp", "-T", "pdml"], check=True,
                          capture_output=True, text=True, timeout=120).stdout
    names: dict[int, list[str]] = {}
    for packet in ET.fromstring(pdml).iter("packet"):
        number = int(packet.find("proto[@name='geninfo']/field[@name='num']").get("show"))
        for field in packet.iter("field"):
            if field.get("name") == "ndmp.msg":
                names.setdefault(number, []).append(re.fullmatch(r"Message: (.*) \(0x\w+\)",
                                                                 field.get("showname")).group(1))
    return names


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    path = tmp_path_factory.mktemp("tshark") / "ndmp.pcap"
    return path, build_capture(path)


def read(path: Path, *fields: str, display_filter: str | None = None) -> dict[int, list[str]]:
    args = ["-r", str(path), "-d", "tcp.port==10000,ndmp", "-T", "fields", "-E", "occurrence=a",
            "-E", "aggregator=,", "-e", "frame.number"]
    for f in fields:
        args += ["-e", f]
    if display_filter:
        args += ["-Y", display_filter]
    return {int(r[0]): r[1:] + [""] * (len(fields) - len(r) + 1) for r in tshark(*args)}


def test_no_malformed_frames(capture):
    path, _ = capture
    assert read(path, display_filter="_ws.malformed") == {}
    assert read(path, display_filter="ndmp.fragment.error || tcp.analysis.flags") == {}


def test_every_message_where_we_put_it(capture):
    path, expected = capture
    seen = {n: row for n, row in read(path, "ndmp.msg", "ndmp.msg_type").items() if row[0]}
    assert set(seen) == set(expected)
    for number, messages in expected.items():
        codes, types = seen[number][0].split(","), seen[number][1].split(",")
        assert [(int(c, 16), int(t)) for c, t in zip(codes, types)] == [(c, t) for c, t, _ in messages], number


def test_message_names_match_wiresharks(capture):
    path, expected = capture
    assert {code for messages in expected.values() for code, _, _ in messages} == set(M)
    printed = printed_message_names(path)
    assert set(printed) == set(expected)
    for number, messages in expected.items():
        ours = [M(code).name.removeprefix("NDMP_") for code, _, _ in messages]
        want = ["Unknown" if code in NOT_IN_WIRESHARK else WIRESHARK_NAMES.get(code, name)
                for (code, _, _), name in zip(messages, ours)]
        assert printed[number] == want, (number, ours)


def test_header_error_reply(tmp_path):
    path = tmp_path / "header-error.pcap"
    build_header_error_capture(path)
    rows = read(path, "ndmp.msg", "ndmp.msg_type", "ndmp.reply_sequence", "ndmp.error")
    assert rows[7][:4] == ["0x00000204", "1", "2", "1"]        # SCSI_RESET_DEVICE reply, NOT_SUPPORTED_ERR
    # Wireshark then looks for a body that is not there: frame 7 alone is "malformed".
    assert set(read(path, display_filter="_ws.malformed")) <= {7}


def test_fields_read_back(capture):
    path, expected = capture
    first = {}
    for number in sorted(expected):
        for code, mtype, _ in expected[number]:
            first.setdefault((code, mtype), number)
    fields = sorted({f for want in FIELDS.values() for f in want})
    rows = read(path, *fields)
    for key, want in FIELDS.items():
        row = dict(zip(fields, rows[first[key]]))
        got = {f: row[f].replace(":", "") if f == "ndmp.auth.digest" else row[f] for f in want}
        assert got == want, (M(key[0]).name, got)
