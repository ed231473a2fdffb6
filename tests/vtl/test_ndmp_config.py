"""The [ndmp] table (vtl/ndmp_config.py): defaults, every key, every refusal (file, line,
table, key, fix), and the per-node secrets file NDMP passwords come from."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ndmp.auth import Role, generate_password
from vtl.config import ConfigError, default_text, load, loads
from vtl.ndmp_config import (
    DEFAULT_USERS,
    NdmpUser,
    Secrets,
    SecretsError,
    check_setting,
    machine_max_sessions,
    ndmp_config,
)

LIBRARY = '''\
[node]
name = "n1"

[[library]]
name = "lib0"
slots = 4

[library.changer]
serial = "CH0"

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR1"
'''


def parse(tmp_path: Path, ndmp: str | None) -> object:
    path = tmp_path / "vtl.toml"
    path.write_text(LIBRARY + ("" if ndmp is None else "\n" + ndmp))
    return ndmp_config(load(path))


def refused(tmp_path: Path, ndmp: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(tmp_path, ndmp)
    error = info.value
    assert error.source == str(tmp_path / "vtl.toml")
    assert str(error).count("Fix: ") == 1 and error.fix
    return error


def line_of(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "vtl.toml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


# -- defaults and values ---------------------------------------------------------------------


def test_no_table_means_the_defaults(tmp_path):
    cfg = parse(tmp_path, None)
    assert (cfg.enabled, cfg.address, cfg.port, cfg.secure, cfg.secure_port) == (True, "127.0.0.1", 10000,
                                                                                 False, 30000)
    assert cfg.authtype == ("plaintext", "challenge")
    assert cfg.policy.text and cfg.policy.md5
    assert cfg.max_sessions == machine_max_sessions() and cfg.max_sessions in (8, 20, 36)
    assert (cfg.tape_reservations, cfg.data_buffers, cfg.event_log) == ("off", 4, True)
    assert cfg.event_log_directory == tmp_path / "log"               # next to the state store
    assert cfg.secrets == tmp_path / "ndmp-secrets.json"
    assert cfg.users == DEFAULT_USERS == (NdmpUser("ndmp", Role.BACKUP),)
    assert (cfg.certificate, cfg.key) == (None, None)
    assert cfg.given == frozenset()


def test_the_embedded_default_configuration_has_the_ndmp_user():
    node = loads(default_text(), base=Path("/srv/vtl"), source=Path("/srv/vtl/vtl.toml"))
    cfg = ndmp_config(node)
    assert (cfg.enabled, cfg.address, cfg.port) == (True, "127.0.0.1", 10000)
    assert cfg.users == (NdmpUser("ndmp", Role.BACKUP),)
    assert {"enabled", "address", "port", "user"} <= cfg.given
    assert cfg.secrets == Path("/srv/vtl/ndmp-secrets.json")


def test_every_key(tmp_path):
    (tmp_path / "tls").mkdir()
    for name in ("cert.pem", "key.pem"):
        (tmp_path / "tls" / name).write_text("not checked here: the service loads it\n")
    cfg = parse(tmp_path, '''
[ndmp]
enabled = false
address = "0.0.0.0"
port = 10500
secure = true
secure_port = 30500
certificate = "tls/cert.pem"
key = "tls/key.pem"
authtype = ["challenge"]
max_sessions = 5
tape_reservations = "Persistent"
data_buffers = 8
event_log = false
event_log_directory = "/var/tmp/vtl-log"
secrets = "private/ndmp.json"

[[ndmp.user]]
name = "ndmp"
role = "backup"

[[ndmp.user]]
name = "operator"
role = "ADMIN"
''')
    assert (cfg.enabled, cfg.address, cfg.port, cfg.secure, cfg.secure_port) == (False, "0.0.0.0", 10500, True,
                                                                                 30500)
    assert (cfg.certificate, cfg.key) == (tmp_path / "tls/cert.pem", tmp_path / "tls/key.pem")
    assert cfg.authtype == ("challenge",) and not cfg.policy.text and cfg.policy.md5
    assert (cfg.max_sessions, cfg.tape_reservations, cfg.data_buffers, cfg.event_log) == (5, "persistent", 8,
                                                                                           False)
    assert cfg.event_log_directory == Path("/var/tmp/vtl-log")
    assert cfg.secrets == tmp_path / "private/ndmp.json"
    assert cfg.users == (NdmpUser("ndmp", Role.BACKUP), NdmpUser("operator", Role.ADMIN))
    assert cfg.user("operator").role is Role.ADMIN
    with pytest.raises(KeyError, match="the users are: ndmp, operator"):
        cfg.user("root")


def test_authtype_as_one_string_in_the_protocol_order_without_repeats(tmp_path):
    assert parse(tmp_path, '[ndmp]\nauthtype = "plaintext"\n').authtype == ("plaintext",)
    cfg = parse(tmp_path, '[ndmp]\nauthtype = ["challenge", "plaintext", "challenge"]\n')
    assert cfg.authtype == ("plaintext", "challenge")


def test_port_zero_means_any_free_port(tmp_path):
    assert parse(tmp_path, "[ndmp]\nport = 0\nsecure_port = 0\n").port == 0


def test_run_time_settings_go_over_the_file(tmp_path):
    cfg = parse(tmp_path, "[ndmp]\nport = 10500\n")
    over = cfg.with_settings({"port": 10600, "authtype": ["challenge"], "certificate": "ignored"})
    assert (over.port, over.authtype, over.certificate) == (10600, ("challenge",), None)
    assert cfg.port == 10500


@pytest.mark.parametrize("key,value,result", [
    ("enabled", False, False), ("port", 1, 1), ("secure_port", 65535, 65535), ("address", " ::1 ", "::1"),
    ("address", "backup.example.com", "backup.example.com"), ("max_sessions", 36, 36),
    ("tape_reservations", "SCSI", "scsi"), ("data_buffers", 64, 64), ("authtype", "challenge", ("challenge",)),
])
def test_check_setting_normalises(key, value, result):
    assert check_setting(key, value) == result


@pytest.mark.parametrize("key,value,phrase", [
    ("enabled", "yes", "true or false"), ("port", 65536, "not a TCP port"), ("port", True, "not a TCP port"),
    ("address", "no such host!", "neither an IP address nor a host name"), ("max_sessions", 37, "1 to 36"),
    ("max_sessions", 0, "1 to 36"), ("data_buffers", 0, "1 to 64"), ("authtype", [], "keep at least one"),
    ("tape_reservations", "exclusive", "off, scsi"), ("secure", 1, "true or false"), ("user", 1, "not an NDMP"),
])
def test_check_setting_refuses(key, value, phrase):
    with pytest.raises(ValueError, match=phrase):
        check_setting(key, value)


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body,key,phrase,fix", [
    ('prot = 10000', "prot", "prot is not a key of [ndmp]", "write port"),
    ('Port = 10000', "Port", "not a key of [ndmp]", "keys are lower case"),
    ('password = "x"', "password", "not a key of [ndmp]", "generate-password"),
    ('port = "10000"', "port", 'port "10000" is not a TCP port', "port = 10000"),
    ('port = 70000', "port", "not a TCP port", "port = 10000"),
    ('address = "my host"', "address", "neither an IP address nor a host name", 'address = "127.0.0.1"'),
    ('authtype = ["md5"]', "authtype", '"md5" is not an NDMP authentication method', "authtype = ["),
    ('authtype = []', "authtype", "no DMA could ever log in", "authtype = ["),
    ('max_sessions = 100', "max_sessions", "out of range", "max_sessions = 8"),
    ('tape_reservations = "on"', "tape_reservations", "not one of off, scsi", 'tape_reservations = "off"'),
    ('data_buffers = 0', "data_buffers", "out of range", "data_buffers = 4"),
    ('event_log = "on"', "event_log", 'event_log is true or false, not "on"', "event_log = true"),
    ('secrets = ""', "secrets", "secrets is empty", "write a path"),
    ('secure = true', "certificate", "secure = true needs the TLS certificate", "or set secure = false"),
    ('secure = true\nport = 30000', "secure_port", "the same as port", "secure_port = 30000"),
])
def test_refusals_name_file_line_table_key_and_fix(tmp_path, body, key, phrase, fix):
    error = refused(tmp_path, f"[ndmp]\n{body}\n")
    assert error.table == "[ndmp]" and error.key == key
    assert phrase in error.message, error.message
    assert fix in error.fix, error.fix
    where = line_of(tmp_path, f"{key} =") if f"{key} =" in body else line_of(tmp_path, "[ndmp]")
    assert error.line == where
    assert str(error).startswith(f"{tmp_path / 'vtl.toml'}, line {where}, [ndmp], key {key}: ")


def test_a_missing_certificate_file(tmp_path):
    error = refused(tmp_path, '[ndmp]\nsecure = true\ncertificate = "nope.pem"\nkey = "nope.pem"\n')
    assert error.key == "certificate" and f"{tmp_path / 'nope.pem'} does not exist" in error.message
    assert "openssl req" in error.fix and error.line == line_of(tmp_path, "certificate =")


def test_a_certificate_that_is_a_directory(tmp_path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "key.pem").write_text("x")
    error = refused(tmp_path, '[ndmp]\nsecure = true\ncertificate = "certs"\nkey = "key.pem"\n')
    assert error.key == "certificate" and "is a directory" in error.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key(tmp_path):
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    (tmp_path / "key.pem").chmod(0)
    error = refused(tmp_path, '[ndmp]\nsecure = true\ncertificate = "cert.pem"\nkey = "key.pem"\n')
    assert error.key == "key" and "cannot be read" in error.message and "permissions" in error.fix


def test_a_certificate_is_checked_even_when_secure_is_off(tmp_path):
    error = refused(tmp_path, '[ndmp]\ncertificate = "missing.pem"\n')
    assert error.key == "certificate"


@pytest.mark.parametrize("users,where,key,phrase,fix", [
    ('[[ndmp.user]]\nrole = "backup"\n', 0, "name", "name is missing", 'name = "ndmp"'),
    ('[[ndmp.user]]\nname = "a b"\n', 0, "name", '"a b" cannot be an NDMP user name', "letters, digits"),
    ('[[ndmp.user]]\nname = "ndmp"\nrole = "root"\n', 0, "role", '"root" is not an NDMP role', 'role = "backup"'),
    ('[[ndmp.user]]\nname = "ndmp"\n\n[[ndmp.user]]\nname = "ndmp"\n', 1, "name", "defined twice",
     "one table"),
    ('[[ndmp.user]]\nname = "ndmp"\npassword = "secret"\n', 0, "password", "not a key of [[ndmp.user]]",
     "generate-password"),
    ('[[ndmp.user]]\nname = "ndmp"\nrole = 1\n', 0, "role", "role must be a string", 'role = "backup"'),
])
def test_user_refusals(tmp_path, users, where, key, phrase, fix):
    error = refused(tmp_path, "[ndmp]\n" + users)
    assert error.table == f"[[ndmp.user]] number {where + 1}" and error.key == key
    assert phrase in error.message and fix in error.fix, str(error)
    assert error.line is not None


def test_users_as_one_table_or_a_list_of_strings(tmp_path):
    error = refused(tmp_path, '[ndmp]\n[ndmp.user]\nname = "ndmp"\n')
    assert "[ndmp.user] is a single table" in error.message and "[[ndmp.user]]" in error.fix
    error = refused(tmp_path, '[ndmp]\nuser = ["ndmp"]\n')
    assert error.key == "user" and "array of tables" in error.message


def test_ndmp_as_an_array_of_tables(tmp_path):
    error = refused(tmp_path, '[[ndmp]]\nport = 1\n')
    assert "a node has one NDMP server" in error.message and "[ndmp]" in error.fix


def test_errors_without_a_file_have_no_line():
    node = loads(LIBRARY + "\n[ndmp]\nport = -1\n", base=Path("/srv/vtl"))
    with pytest.raises(ConfigError) as info:
        ndmp_config(node)
    assert info.value.line is None and info.value.key == "port"


# -- the secrets file --------------------------------------------------------------------------


def two_users(tmp_path: Path):
    return parse(tmp_path, '[ndmp]\n[[ndmp.user]]\nname = "ndmp"\n\n[[ndmp.user]]\nname = "admin"\nrole = "admin"\n')


def test_secrets_are_made_on_first_use_private_and_random(tmp_path):
    cfg = two_users(tmp_path)
    secrets = Secrets(cfg.secrets)
    assert not cfg.secrets.exists()
    users = {u.name: u for u in secrets.users(cfg)}
    assert stat.S_IMODE(cfg.secrets.stat().st_mode) == 0o600
    data = json.loads(cfg.secrets.read_text())
    logins = {name: v["login_password"] for name, v in data["users"].items()}
    assert set(logins) == {"ndmp", "admin"} and logins["ndmp"] != logins["admin"]
    assert len(data["node_secret"]) >= 32
    # the NDMP password is the derivation of the login password with the node secret
    assert users["ndmp"].password == generate_password("ndmp", logins["ndmp"], data["node_secret"])
    assert users["admin"].role is Role.ADMIN and len(users["ndmp"].password) == 16
    # another node (another secrets file) gives the same user another password
    other = Secrets(tmp_path / "other.json").ndmp_password(cfg, "ndmp")
    assert other != users["ndmp"].password


def test_the_ndmp_password_is_deterministic_until_the_login_password_changes(tmp_path):
    cfg = two_users(tmp_path)
    first = Secrets(cfg.secrets).ndmp_password(cfg, "ndmp")
    assert Secrets(cfg.secrets).ndmp_password(cfg, "ndmp") == first          # read back from the file
    secrets = Secrets(cfg.secrets)
    secrets.set_login_password(cfg, "ndmp", "correct horse battery staple")
    changed = secrets.ndmp_password(cfg, "ndmp")
    assert changed != first and Secrets(cfg.secrets).ndmp_password(cfg, "ndmp") == changed
    data = json.loads(cfg.secrets.read_text())
    assert changed == generate_password("ndmp", "correct horse battery staple", data["node_secret"])
    assert Secrets(cfg.secrets).ndmp_password(cfg, "admin") == secrets.ndmp_password(cfg, "admin")
    with pytest.raises(KeyError):
        secrets.ndmp_password(cfg, "nobody")
    with pytest.raises(ValueError):
        secrets.set_login_password(cfg, "ndmp", "")


def test_a_user_added_later_gets_a_login_password_and_the_others_keep_theirs(tmp_path):
    one = parse(tmp_path, None)
    before = Secrets(one.secrets).ndmp_password(one, "ndmp")
    both = two_users(tmp_path)
    secrets = Secrets(both.secrets)
    assert secrets.ndmp_password(both, "ndmp") == before
    assert secrets.ndmp_password(both, "admin")
    assert set(json.loads(both.secrets.read_text())["users"]) == {"ndmp", "admin"}


def test_a_damaged_or_open_secrets_file_is_refused(tmp_path):
    cfg = parse(tmp_path, None)
    cfg.secrets.write_text("{not json")
    cfg.secrets.chmod(0o600)
    with pytest.raises(SecretsError, match="damaged.*move it aside"):
        Secrets(cfg.secrets).users(cfg)
    cfg.secrets.unlink()
    Secrets(cfg.secrets).users(cfg)
    cfg.secrets.chmod(0o644)
    with pytest.raises(SecretsError, match=r"may be read by others \(mode 0644\).*chmod 600"):
        Secrets(cfg.secrets).users(cfg)
