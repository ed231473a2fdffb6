"""The control socket answers every malformed or impossible request with an error
sentence and keeps serving (it never answers with a traceback or hangs up)."""
from __future__ import annotations

import json
import socket

import pytest

from support.daemon import Daemon, small_config

BAD = [
    (b"not json", "Malformed request"),
    (b"[1, 2]", "a request is an object with a method"),
    (b'{"method": "nope"}', "does not know the request 'nope'"),
    (b'{"method": "load", "params": [1]}', "params must be an object"),
    (b'{"method": "load", "params": {"x": 1}}', "Bad parameters for load"),
    (b'{"method": "inventory", "params": {"type": "bogus"}}', "Element types are"),
    (b'{"method": "scsi", "params": {"device": "st0", "cdb": "zz"}}', "must be hexadecimal"),
    (b'{"method": "scsi", "params": {"device": "st0", "cdb": "00", "data_out": "!!"}}', "base64"),
    (b'{"method": "scsi", "params": {"device": "st0", "cdb": "00", "allocation": -1}}', "allocation length"),
    (b'{"method": "import", "params": {"barcode": "ABC123L8", "capacity": "lots"}}', "Bad capacity"),
    (b'{"method": "import", "params": {"barcode": "../../x", "media": "LTO8"}}', "cannot be imported"),
    (b'{"method": "tape.position", "params": {"drive": "st0", "operation": "fsf", "count": -1}}',
     "The count must be"),
    (b'{"method": "move", "params": {"source": "4096", "destination": "99999"}}', "no element"),
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with Daemon(tmp_path_factory.mktemp("control"), small_config()) as d:
        yield d


@pytest.mark.parametrize("line,phrase", BAD)
def test_a_bad_request_gets_a_sentence_and_the_connection_survives(daemon, line, phrase):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.socket))
        f = s.makefile("rwb")
        f.write(line + b"\n")
        f.flush()
        reply = json.loads(f.readline())
        assert phrase in reply["error"]["message"], reply
        assert "Internal error" not in reply["error"]["message"]
        f.write(b'{"id": 2, "method": "ping"}\n')
        f.flush()
        assert json.loads(f.readline()) == {"id": 2, "result": {"node": "testnode", "ready": True}}
