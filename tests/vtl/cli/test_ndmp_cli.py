"""`vtl ndmp ...` against a real `vtl serve` with its NDMP server on a free port (never 10000):
show, version, status, probe, kill, kill-all, generate-password, set-login-password, on, off,
modify, extensions, log; what outlives a restart; a port in use; Amanda's ndmjob as the DMA
with the password generate-password prints; TLS on the secure port."""
from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.daemon import Daemon, small_config

from ndmp import codec
from ndmp.constants import NDMPPORT, AuthType, ConnectionStatusReason, ErrorCode, TapeOpenMode
from ndmp.constants import MessageCode as M
from ndmp.messages import connect as cn
from ndmp.messages import tape as tp
from ndmp.record import RecordReader, frame

from .conftest import refused

NDMJOB = "/usr/lib/amanda/ndmjob"
GUARD = 60           # seconds: only so that a hang ends the test; nothing is timed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert port != NDMPPORT
    return port


def config(port: int, extra: str = "") -> str:
    return small_config(ndmp=f"port = {port}\n{extra}")


class Client:
    """A DMA's control connection, in bytes through the codec (optionally over TLS)."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
        self.local_port = raw.getsockname()[1]
        self.sock = tls.wrap_socket(raw, server_hostname="127.0.0.1") if tls is not None else raw
        self.reader = RecordReader()
        self.pending: list[codec.Message] = []
        self.sequence = 0
        self.greeting = self.next()

    def next(self) -> codec.Message:
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the server closed the connection")
            self.pending += [codec.decode(r) for r in self.reader.feed(data)]
        return self.pending.pop(0)

    def call(self, code: int, body=None) -> codec.Message:
        self.sequence += 1
        self.sock.sendall(frame(codec.encode(codec.request(code, body, sequence=self.sequence))))
        while True:
            message = self.next()
            if message.is_reply and message.header.reply_sequence == self.sequence:
                return message

    def login(self, password: str, user: str = "ndmp") -> None:
        assert self.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4)).body.error == 0
        reply = self.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id=user, auth_password=password))))
        assert reply.body.error == ErrorCode.NDMP_NO_ERR, reply.body

    def ended(self) -> str:
        """The text of the NOTIFY_CONNECTION_STATUS(SHUTDOWN) the server ends with; then EOF."""
        while True:
            message = self.next()
            if message.code == M.NDMP_NOTIFY_CONNECTION_STATUS:
                assert message.body.reason == ConnectionStatusReason.NDMP_SHUTDOWN, message.body
                with pytest.raises(EOFError):
                    self.next()
                return message.body.text_reason

    def close(self) -> None:
        self.sock.close()


def password(d: Daemon, user: str = "ndmp") -> str:
    return d.call("ndmp.generate_password", user=user)["password"]


def vtl_input(d: Daemon, stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vtl.cli", *args], env=d.env, input=stdin, capture_output=True,
                          text=True, timeout=GUARD, check=False)


@pytest.fixture(scope="module")
def nd(tmp_path_factory):
    port = free_port()
    with Daemon(tmp_path_factory.mktemp("ndmp"), config(port)) as d:
        d.port = port
        yield d


@pytest.fixture
def own(tmp_path):
    port = free_port()
    with Daemon(tmp_path / "node", config(port)) as d:
        d.port = port
        yield d


# -- show, version, passwords, extensions -----------------------------------------------------


def test_show_says_where_it_listens_and_where_each_value_comes_from(nd):
    r = nd.vtl_json("ndmp", "show")
    assert r["running"] and r["listening"] == [f"127.0.0.1:{nd.port}"] and r["port_in_use"] == nd.port
    s = r["settings"]
    assert s["port"] == {"value": nd.port, "source": "configuration"}
    assert s["enabled"] == {"value": True, "source": "default"}
    assert s["authtype"] == {"value": ["plaintext", "challenge"], "source": "default"}
    assert s["tape_reservations"]["value"] == "off" and s["data_buffers"]["value"] == 4
    assert s["max_sessions"]["value"] in (8, 20, 36) and s["secure"]["value"] is False
    assert r["users"] == [{"name": "ndmp", "role": "backup"}] and r["version"] == 4
    assert r["secrets"] == str(nd.home / "ndmp-secrets.json")
    assert r["event_log_file"] == str(nd.home / "log" / "backup")
    text = nd.vtl("ndmp", "show").stdout
    for phrase in ("Node: testnode", f"Listening on: 127.0.0.1:{nd.port}", "Authentication types",
                   "plaintext, challenge", "Tape reservations", "Maximum sessions", "ndmp (backup)",
                   "configuration", "default"):
        assert phrase in text, phrase


def test_version(nd):
    assert nd.vtl("ndmp", "version").stdout == "NDMP Version: 4\n"
    assert nd.vtl_json("ndmp", "version") == {"node": "testnode", "version": 4}


def test_generate_password_is_the_same_each_time_and_kept_private(nd):
    out = nd.vtl("ndmp", "generate-password", "--user", "ndmp").stdout
    lines = out.splitlines()
    assert lines[:2] == ["Node: testnode", "User: ndmp"] and lines[2].startswith("Password: ")
    pw = lines[2].removeprefix("Password: ")
    assert len(pw) == 16 and pw.isalnum()
    assert nd.vtl("ndmp", "generate-password", "-user", "ndmp").stdout == out
    assert (nd.home / "ndmp-secrets.json").stat().st_mode & 0o777 == 0o600
    refused(nd.vtl("ndmp", "generate-password", "--user", "root", check=False),
            "'root' is not an NDMP user of this node", "[[ndmp.user]]")


def test_extensions_are_shown_honestly(nd):
    assert nd.vtl_json("ndmp", "extensions", "show") == []
    assert "offers no extension classes" in nd.vtl("ndmp", "extensions", "show").stdout
    refused(nd.vtl("ndmp", "extensions", "modify", "--extension", "0x2050", "--enabled", "true", check=False),
            "does not offer extension class 0x2050")


def test_no_sessions(nd):
    assert nd.vtl("ndmp", "status").stdout.strip() == "There are no NDMP sessions."
    assert nd.vtl_json("ndmp", "probe") == []
    assert nd.vtl("ndmp", "kill-all").stdout.strip() == "There were no NDMP sessions."
    refused(nd.vtl("ndmp", "kill", "99", check=False), "ndmpd session 99 not active")
    refused(nd.vtl("ndmp", "status", "--session-id", "99", check=False), "ndmpd session 99 not active")


def test_modify_refusals(nd):
    refused(nd.vtl("ndmp", "modify", check=False), "Nothing to modify")
    refused(nd.vtl("ndmp", "modify", "--max-sessions", "99", check=False), "max_sessions 99 is out of range")
    refused(nd.vtl("ndmp", "modify", "--authtype", "kerberos", check=False), '"kerberos" is not an NDMP')
    refused(nd.vtl("ndmp", "modify", "--secure", "true", check=False), "needs a certificate and a key")
    assert nd.vtl_json("ndmp", "show")["settings"]["max_sessions"]["source"] == "default"


# -- sessions ----------------------------------------------------------------------------------


def test_status_probe_and_kill_of_a_session_holding_a_tape(own):
    own.call("load", cartridge="TST000L8", drive="st0")
    c = Client(own.port)
    c.login(password(own))
    reply = c.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0a", mode=TapeOpenMode.NDMP_TAPE_READ_MODE))
    assert reply.body.error == ErrorCode.NDMP_NO_ERR, reply.body
    assert c.call(M.NDMP_MOVER_GET_STATE).body.error == ErrorCode.NDMP_NO_ERR
    [row] = own.vtl_json("ndmp", "status")
    assert (row["client_addr"], row["client_port"], row["user"], row["auth_type"]) == \
        ("127.0.0.1", c.local_port, "ndmp", "text")
    assert row["authorized"] and row["ndmp_version"] == 4 and row["node"] == "testnode"
    assert row["tape"] == {"device": "nrst0a", "mode": "read", "writable": False}
    assert row["mover"]["state"] == "idle" and row["mover"]["mode"] == "read"
    text = own.vtl("ndmp", "status").stdout
    for column in ("Session ID", "Client Address", "Client Port", "User", "Auth Type", "Start Time",
                   "Tape Device", "Mover State", "nrst0a (read)", "idle"):
        assert column in text, column
    sid = row["session_id"]
    detail = own.vtl("ndmp", "probe", "-client-addr", "127.0.0.1").stdout
    assert f"Session {sid}" in detail and "Session authorized:       true" in detail
    assert "Tape device:              nrst0a" in detail and "Mover state:              idle" in detail
    assert own.vtl("ndmp", "status", "--session-id", str(sid)).stdout == \
        own.vtl("ndmp", "probe", "--session-id", str(sid)).stdout
    assert own.vtl_json("ndmp", "probe", "--client-addr", "10.9.9.9") == []

    assert own.vtl("ndmp", "kill", str(sid)).stdout.strip() == f"NDMP session {sid} was terminated."
    assert c.ended() == "the NDMP session was terminated by an administrator (vtl ndmp kill)"
    assert own.vtl_json("ndmp", "status") == []
    # the session gave the drive back: another one may open it
    c2 = Client(own.port)
    c2.login(password(own))
    assert c2.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(
        device="nrst0a", mode=TapeOpenMode.NDMP_TAPE_READ_MODE)).body.error == ErrorCode.NDMP_NO_ERR
    c3 = Client(own.port)
    assert own.vtl("ndmp", "kill-all").stdout.strip() == "2 NDMP sessions were terminated."
    assert c2.ended().startswith("the NDMP session was terminated") and c3.ended()
    assert own.vtl_json("ndmp", "status") == []
    # the backup event log has both sessions' Tape_open and Tape_close (a tape read: rst)
    lines = own.vtl("ndmp", "log").stdout.splitlines()
    assert lines[0].startswith("log ") and lines[0].endswith(" Start_Logging")
    tape = [line for line in lines if "Tape_" in line]
    assert len(tape) == 4 and all(line.startswith("rst ") and line.endswith("(nrst0a)") for line in tape)
    assert f"ndmp:testnode/session{sid}(" in tape[0] and tape[0].split()[-2:] == ["Tape_open", "(nrst0a)"]
    assert tape[1].split()[-2:] == ["Tape_close", "(nrst0a)"]
    assert own.vtl("ndmp", "log", "--lines", "1").stdout.splitlines() == lines[-1:]
    events = own.vtl_json("ndmp", "log")["events"]
    assert [e["event"] for e in events if e["type"] == "rst"] == ["Tape_open", "Tape_close"] * 2


def test_off_ends_the_sessions_and_on_listens_again(own):
    c = Client(own.port)
    assert own.vtl("ndmp", "off").stdout.strip() == "NDMP is off; 1 session ended."
    assert c.ended() == "the NDMP service was turned off by an administrator (vtl ndmp off)"
    with pytest.raises(ConnectionRefusedError):
        Client(own.port)
    assert own.vtl("ndmp", "off").stdout.strip() == "NDMP was already off."
    show = own.vtl_json("ndmp", "show")
    assert show["listening"] == [] and show["settings"]["enabled"] == {"value": False, "source": "vtl ndmp on/off"}
    assert own.vtl("ndmp", "on").stdout.strip() == f"NDMP is on: 127.0.0.1:{own.port}."
    assert own.vtl("ndmp", "on").stdout.strip() == f"NDMP was already on: 127.0.0.1:{own.port}."
    Client(own.port).close()
    own.vtl("status")                                     # the rest of the daemon never stopped


def test_modify_in_place_and_with_a_restart_of_the_listener(own):
    c = Client(own.port)
    out = own.vtl("ndmp", "modify", "--authtype", "challenge", "--tape-reservations", "scsi",
                  "--data-buffers", "8").stdout
    assert out.strip() == ("NDMP authentication types is now challenge; data buffers is now 8; "
                           "tape reservations is now scsi.")
    [row] = own.vtl_json("ndmp", "status")                # settings sessions read later: no restart
    assert row["client_port"] == c.local_port
    # text authentication is now refused for a new session
    c2 = Client(own.port)
    c2.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4))
    reply = c2.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
        auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id="ndmp", auth_password=password(own)))))
    assert reply.body.error == ErrorCode.NDMP_NOT_SUPPORTED_ERR
    c2.close()
    new = free_port()
    out = own.vtl("ndmp", "modify", "--port", str(new), "--max-sessions", "1").stdout
    assert out.splitlines() == [f"NDMP maximum sessions is now 1; port is now {new}.",
                                f"The listeners were restarted (127.0.0.1:{new}); 1 session ended."]
    assert c.ended() == "the NDMP service is restarting to apply new settings (vtl ndmp modify)"
    first = Client(new)
    raw = socket.create_connection(("127.0.0.1", new), timeout=GUARD)   # over the limit: told why, closed
    reader, data = RecordReader(), b""
    while True:
        chunk = raw.recv(65536)
        if not chunk:
            break
        data += chunk
    [record] = reader.feed(data)
    refusal = codec.decode(record)
    assert refusal.body.reason == ConnectionStatusReason.NDMP_REFUSED
    assert "NDMP session limit reached" in refusal.body.text_reason
    raw.close()
    first.close()
    assert own.vtl("ndmp", "modify", "--data-buffers", "8").stdout.strip() == \
        "Nothing changed: the settings already had these values."
    # a port that is taken: refused, and the old listener is back
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        refused(own.vtl("ndmp", "modify", "--port", str(taken), check=False),
                f"NDMP cannot listen on 127.0.0.1:{taken}: the port is already in use",
                "the previous settings are back in effect")
    assert own.vtl_json("ndmp", "show")["listening"] == [f"127.0.0.1:{new}"]


def test_settings_outlive_a_restart_until_reset(tmp_path):
    port, other = free_port(), free_port()
    d = Daemon(tmp_path / "node", config(port))
    with d:
        d.vtl("ndmp", "modify", "--port", str(other), "--event-log", "off", "--authtype", "challenge")
        d.vtl("ndmp", "off")
    with d:
        show = d.vtl_json("ndmp", "show")
        assert show["listening"] == []
        s = show["settings"]
        assert s["enabled"] == {"value": False, "source": "vtl ndmp on/off"}
        assert s["port"] == {"value": other, "source": "vtl ndmp modify"}
        assert s["authtype"] == {"value": ["challenge"], "source": "vtl ndmp modify"}
        assert s["event_log"] == {"value": False, "source": "vtl ndmp modify"}
        assert d.vtl("ndmp", "on").stdout.strip() == f"NDMP is on: 127.0.0.1:{other}."
        out = d.vtl("ndmp", "modify", "--reset").stdout
        assert f"port is now {port}" in out and "The listeners were restarted" in out
        s = d.vtl_json("ndmp", "show")["settings"]
        assert s["port"] == {"value": port, "source": "configuration"}
        assert s["authtype"]["source"] == s["event_log"]["source"] == "default"
        assert s["enabled"] == {"value": True, "source": "vtl ndmp on/off"}
    with d:
        assert d.vtl_json("ndmp", "show")["listening"] == [f"127.0.0.1:{port}"]
        lines = d.vtl("ndmp", "log").stdout.splitlines()
    # logging on (start), off (modify), on again (reset), and on at the last start
    assert [line.split()[-1] for line in lines] == ["Start_Logging", "Stop_Logging", "Start_Logging",
                                                    "Start_Logging"]


def test_the_ndmp_password_changes_with_the_login_password(own):
    old = password(own)
    cp = vtl_input(own, "a new login password\n", "ndmp", "set-login-password", "--user", "ndmp")
    assert cp.returncode == 0, cp.stderr
    new = cp.stdout.splitlines()[-1].removeprefix("Password: ")
    assert new != old and password(own) == new
    c = Client(own.port)
    c.login(new)
    c.close()
    c = Client(own.port)
    c.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4))
    reply = c.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
        auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id="ndmp", auth_password=old))))
    assert reply.body.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR
    c.close()
    refused(vtl_input(own, "\n", "ndmp", "set-login-password", "--user", "ndmp"), "empty")
    assert password(own) == new


# -- start-up problems -------------------------------------------------------------------------


def test_a_port_in_use_leaves_the_rest_of_the_daemon_serving(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with Daemon(tmp_path / "node", config(port)) as d:
            d.vtl("status")
            show = d.vtl_json("ndmp", "show")
            assert not show["running"] and "already in use" in show["unavailable"]
            refused(d.vtl("ndmp", "status", check=False), "NDMP is not running on this node",
                    f"127.0.0.1:{port}: the port is already in use")
            assert d.vtl("ndmp", "generate-password", "--user", "ndmp").returncode == 0
        [line] = [line for line in d.log.read_text().splitlines() if "NDMP: not started" in line]
        assert f"NDMP cannot listen on 127.0.0.1:{port}: the port is already in use" in line


def test_a_bad_ndmp_table_stops_vtl_serve_with_one_sentence(tmp_path):
    d = Daemon(tmp_path / "bad", config(free_port(), 'tape_reservations = "always"'))
    cp = d.vtl("serve", check=False, timeout=GUARD)
    message = refused(cp, str(d.config), "[ndmp], key tape_reservations", "Fix:")
    line = d.config.read_text().splitlines().index('tape_reservations = "always"') + 1
    assert f"line {line}," in message


# -- Amanda's ndmjob as the DMA ----------------------------------------------------------------


@pytest.mark.skipif(not os.access(NDMJOB, os.X_OK), reason=f"{NDMJOB} not found (apt-get install amanda-server)")
def test_ndmjob_queries_the_tape_agent_with_the_generated_password(nd):
    def query(flags: str, pw: str) -> str:
        agent = f"127.0.0.1:{nd.port}/{flags},ndmp,{pw}"
        return subprocess.run([NDMJOB, "-q", "-T", agent, "-R", agent], capture_output=True, text=True,
                              timeout=GUARD, stdin=subprocess.DEVNULL, check=False).stdout

    out = query("4m", password(nd))
    lines = [line[4:-1] for line in out.splitlines() if line.startswith('QR "')]
    assert "Tape Agent 127.0.0.1 NDMPv4" in lines and "Robot Agent 127.0.0.1 NDMPv4" in lines
    devices = [line.split()[-1] for line in lines if line.startswith("    device")]
    assert {"nrst0a", "nrst1a", "rst0l", "mc0"} <= set(devices)
    assert "  tape IBM LTO-8" in lines and "  scsi IBM 3573-TL" in lines
    assert "err connect-auth" in query("4t", "wrongpassword123")


# -- TLS on the secure port --------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with `cryptography` (or openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor openssl is here to make a certificate")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=GUARD)
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key.chmod(0o600)
    return cert, key


def test_tls_on_the_secure_port(tmp_path):
    home = tmp_path / "node"
    home.mkdir()
    cert, key = self_signed(home)
    port = free_port()
    text = config(port, f'secure = true\nsecure_port = 0\ncertificate = "{cert.name}"\nkey = "{key.name}"')
    with Daemon(home, text) as d:
        show = d.vtl_json("ndmp", "show")
        secure = show["secure_port_in_use"]
        assert secure and secure != port
        assert show["listening"] == [f"127.0.0.1:{port}", f"127.0.0.1:{secure} (TLS)"]
        client_tls = ssl.create_default_context(cafile=str(cert))        # verifies the server, no client cert
        c = Client(secure, tls=client_tls)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert c.greeting.code == M.NDMP_NOTIFY_CONNECTION_STATUS
        assert c.greeting.body.reason == ConnectionStatusReason.NDMP_CONNECTED
        c.login(password(d))
        plain = Client(port)                                             # the standard port serves too
        assert {r["client_port"] for r in d.vtl_json("ndmp", "status")} == {c.local_port, plain.local_port}
        # a plain-text client on the TLS port gets no NDMP greeting
        raw = socket.create_connection(("127.0.0.1", secure), timeout=GUARD)
        raw.sendall(b"\x80\x00\x00\x18" + bytes(24))
        try:
            answer = raw.recv(65536)
        except ConnectionResetError:
            answer = b""
        assert not answer.startswith(b"\x80")
        raw.close()
        # The DMAs read on while the listeners restart, as DMAs do: a TLS connection closes with
        # both sides' close_notify (or the server waits for it).
        texts: list[str] = []
        readers = [threading.Thread(target=lambda client=client: (texts.append(client.ended()), client.close()))
                   for client in (c, plain)]
        for reader in readers:
            reader.start()
        assert d.vtl("ndmp", "modify", "--secure", "false").stdout.splitlines()[-1].endswith("2 sessions ended.")
        for reader in readers:
            reader.join(GUARD)
        assert texts == ["the NDMP service is restarting to apply new settings (vtl ndmp modify)"] * 2
        assert d.vtl_json("ndmp", "show")["listening"] == [f"127.0.0.1:{port}"]


def test_a_certificate_that_does_not_fit_its_key(tmp_path):
    home = tmp_path / "node"
    home.mkdir()
    cert, _ = self_signed(home)
    (home / "other").mkdir()
    self_signed(home / "other")                           # another key: not the certificate's
    text = config(free_port(), f'secure = true\nsecure_port = 0\ncertificate = "{cert.name}"\nkey = "other/key.pem"')
    with Daemon(home, text) as d:
        show = d.vtl_json("ndmp", "show")
        assert not show["running"] and "Secure NDMP cannot use the certificate" in show["unavailable"]
        d.vtl("status")


# -- ndmcopy -------------------------------------------------------------------------------------


def test_copy_between_two_volumes_of_the_node(tmp_path):
    """`vtl ndmp copy` (ndmcopy) as the DMA against the daemon's own NDMP server, which is
    both source and destination: a full copy, an incremental one, and its refusals."""
    from support.trees import make_tree, tree_differences
    src = make_tree(tmp_path / "src" / "tree")
    (tmp_path / "dst").mkdir()
    port = free_port()
    volumes = "".join(f'\n[[volume]]\nname = "/vs1/{n}"\npath = "{tmp_path / n}"\n' for n in ("src", "dst"))
    with Daemon(tmp_path / "node", config(port, "") + volumes) as d:
        pw = password(d)
        here, there = f"127.0.0.1:{port}:/vs1/src/tree", f"127.0.0.1:{port}:/vs1/dst/copy"
        cp = d.vtl("ndmp", "copy", "-sa", f"ndmp:{pw}", "-da", f"ndmp:{pw}", "-dt", "text", "-d", here, there)
        assert cp.stdout.startswith(f"Copied {here} to {there} (level 0): ")
        assert "source: normal: DUMP: inode scan" in cp.stderr         # -d: what the servers logged
        assert tree_differences(src, tmp_path / "dst" / "copy") == []

        (src / "added.txt").write_text("after the full copy\n")
        r = d.vtl_json("ndmp", "copy", "-sa", f"ndmp:{pw}", "-da", f"ndmp:{pw}", "-l", "1", "-exclude", "*.tmp",
                       here, there)
        assert (r["level"], r["source"], r["destination"]) == (1, here, there) and r["bytes"] > 0
        assert (tmp_path / "dst" / "copy" / "added.txt").read_text() == "after the full copy\n"

        def copy(*args: str) -> subprocess.CompletedProcess:
            return d.vtl("ndmp", "copy", *args, check=False)
        refused(copy("-sa", f"ndmp:{pw}", "-da", f"ndmp:{pw}", "/vs1/src/tree", there),
                "is not HOST[:PORT]:/vserver/volume[/path]")
        refused(copy("-sa", "ndmp", "-da", f"ndmp:{pw}", here, there), "-sa 'ndmp' has no password", "-p")
        refused(copy("-sa", f"ndmp:{pw}", "-da", "ndmp:wrong", here, there),
                f"cannot log in to 127.0.0.1:{port} as ndmp (md5)")
        refused(copy("-sa", f"ndmp:{pw}", "-da", f"ndmp:{pw}", "-p", here, there), "needs an interactive console")
        refused(copy("-sa", f"ndmp:{pw}", "-da", f"ndmp:{pw}", f"127.0.0.1:{port}:/vs1/src/none", there),
                "the source: ", "refused NDMP_DATA_START_BACKUP", "/vs1/src/none is not a directory")
        refused(copy("-sa", f"ndmp:{pw}", "-da", f"ndmp:{pw}", "-md", "inet6", here, there), "-md inet")
        for _ in range(100):                                        # every session it opened ends
            if d.vtl_json("ndmp", "status") == []:
                break
            time.sleep(0.05)
        assert d.vtl_json("ndmp", "status") == []
