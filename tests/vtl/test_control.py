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
    (b'{"method": "import", "params": {"barcode": "%s"}}' % (b"A" * 300), "a barcode has at most 32"),
    (b'{"method": "cartridge.create", "params": {"barcode": "%s"}}' % (b"A" * 300), "a barcode has at most 32"),
    (b'{"method": "tape.position", "params": {"drive": "st0", "operation": "fsf", "count": -1}}',
     "The count must be"),
    (b'{"method": "move", "params": {"source": "4096", "destination": "99999"}}', "no element"),
    (b'{"method": "cartridge.create", "params": {"barcode": 5}}', "barcode must be a string, not 5"),
    (b'{"method": "alias.clear", "params": {"name": []}}', "name must be a string or null, not []"),
    (b'{"method": "tape.position", "params": {"drive": "st0", "operation": "fsf", "count": 1e400}}',
     "count must be a whole number"),
    (b'{"method": "tape.position", "params": {"drive": "st0", "operation": "fsf", "count": 18446744073709551616}}',
     "count must be a whole number"),
    (b'{"method": "tape.trace", "params": {"drive": "st0", "enabled": 1}}', "enabled must be true or false"),
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


def _wrong(hint) -> object:
    """A JSON value of another type than the parameter declares (None where none fits)."""
    import typing
    allowed = set(typing.get_args(hint)) or {hint}
    for candidate, kind in ((5, int), ("text", str), (True, bool), ([1], list), ({"a": 1}, dict)):
        if not any((typing.get_origin(a) or a) is kind for a in allowed):
            return candidate
    return None


def test_every_method_refuses_a_parameter_of_the_wrong_type(daemon):
    """Not only the CLI talks to the socket: each parameter of each method, sent with a
    value of another JSON type, gets a sentence naming it (never an internal error)."""
    import typing
    from vtl.daemon.methods import METHODS
    asked = 0
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.socket))
        f = s.makefile("rwb")
        for name, fn in sorted(METHODS.items()):
            for param, hint in typing.get_type_hints(fn).items():
                if param in ("node", "return") or hint is typing.Any:
                    continue
                value = _wrong(hint)
                f.write(json.dumps({"id": 1, "method": name, "params": {param: value}}).encode() + b"\n")
                f.flush()
                message = json.loads(f.readline())["error"]["message"]
                assert f"{param} must be" in message and "Internal error" not in message, (name, param, message)
                asked += 1
    assert asked > 40


def test_a_full_state_store_refuses_the_change_in_a_sentence(tmp_path):
    """The store's file system fills up: every change is refused with the store, the cause
    and the fix (not an internal error), the library stays as the store says, and the
    same request works once there is room again."""
    import os
    from support.filesystems import fill, small_tmpfs
    with small_tmpfs(tmp_path / "small", 4 * 1024 * 1024) as mnt:
        config = small_config().replace('state = "state.sqlite"', f'state = "{mnt}/state.sqlite"')
        with Daemon(tmp_path / "node", config) as d:
            filler = fill(mnt)
            for args in (["load", "TST000L8", "st0"], ["import", "NEW000L8"], ["tape", "alias", "set", "st7",
                                                                                "SN[TESTDRV0]L1"]):
                cp = d.vtl(*args, check=False)
                assert cp.returncode == 1 and "Traceback" not in cp.stderr, cp.stderr
                assert cp.stderr.strip() == (f"Error: The state store {mnt}/state.sqlite could not record "
                                             "this (database or disk is full); it still holds what it held "
                                             "before. Fix: make room on that file system, then try again.")
            drives = d.vtl_json("tape", "show-tape-drive")
            assert all(dr["barcode"] is None for dr in drives)
            os.unlink(filler)
            d.vtl("load", "TST000L8", "st0")
            assert [dr["barcode"] for dr in d.vtl_json("tape", "show-tape-drive")][0] == "TST000L8"
