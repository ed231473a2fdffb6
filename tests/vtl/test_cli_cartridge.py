"""`vtl cartridge create|info|list|read`, run as the real command."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import io


from vtl.api import Drive

MIB = 1024 * 1024


def vtl(*args, home, check=True):
    env = dict(os.environ, VTL_HOME=str(home))
    p = subprocess.run([sys.executable, "-m", "vtl.cli", *args], capture_output=True, env=env)
    if check and p.returncode:
        raise AssertionError(p.stderr.decode())
    return p


def test_create_info_list(tmp_path):
    out = vtl("cartridge", "create", "A00001L9", "--capacity", "64MiB", home=tmp_path)
    assert b"Created LTO9 cartridge A00001L9" in out.stdout
    info = json.loads(vtl("cartridge", "info", "A00001L9", "--json", home=tmp_path).stdout)
    assert info["media"] == "LTO9" and info["capacity"] == 64 * MIB and info["density"] is None
    assert info["mam"]["BARCODE"] == "A00001L9"
    vtl("cartridge", "create", str(tmp_path / "elsewhere" / "W00001LY"), "--capacity", "8MiB", home=tmp_path)
    listing = json.loads(vtl("cartridge", "list", "--json", home=tmp_path).stdout)
    assert [c["barcode"] for c in listing] == ["A00001L9"]
    text = vtl("cartridge", "list", home=tmp_path).stdout.decode()
    assert "A00001L9" in text and "LTO9" in text


def test_errors_are_sentences_not_tracebacks(tmp_path):
    vtl("cartridge", "create", "A00001L8", "--capacity", "1MiB", home=tmp_path)
    p = vtl("cartridge", "create", "A00001L8", home=tmp_path, check=False)
    assert p.returncode == 1 and b"already exists" in p.stderr and b"Traceback" not in p.stderr
    p = vtl("cartridge", "create", "X", "--capacity", "lots", home=tmp_path, check=False)
    assert p.returncode == 1 and b"64MiB" in p.stderr
    p = vtl("cartridge", "create", "X", "--media", "DLT", home=tmp_path, check=False)
    assert p.returncode == 1 and b"unknown media type" in p.stderr
    p = vtl("cartridge", "info", "NOPE", home=tmp_path, check=False)
    assert p.returncode == 1 and b"vtl cartridge create" in p.stderr
    p = vtl("cartridge", "read", "A00001L8", "--file", "3", home=tmp_path, check=False)
    assert p.returncode == 1 and b"has no file 3" in p.stderr


def test_read_hands_a_tape_file_to_tar(tmp_path):
    """Write a tar archive as tape file 1 through the drive, read it back with the CLI."""
    vtl("cartridge", "create", "T00001L8", "--capacity", "64MiB", home=tmp_path)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        payload = os.urandom(100_000)
        ti = tarfile.TarInfo("hello.bin")
        ti.size = len(payload)
        tar.addfile(ti, io.BytesIO(payload))
    blob = archive.getvalue()
    with Drive("IBM_LTO8") as drive:
        drive.load(str(tmp_path / "cartridges" / "T00001L8"))
        assert drive.execute(bytes([0x0A, 0, 0, 0, 5, 0]), b"first").good
        assert drive.execute(bytes([0x10, 0, 0, 0, 1, 0])).good
        for i in range(0, len(blob), 10240):                 # tar's 10 KiB records
            rec = blob[i:i + 10240]
            assert drive.execute(bytes([0x0A, 0]) + len(rec).to_bytes(3, "big") + b"\0", rec).good
        assert drive.execute(bytes([0x10, 0, 0, 0, 1, 0])).good
    out = vtl("cartridge", "read", "T00001L8", "--file", "1", home=tmp_path).stdout
    assert out == blob
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.extractfile("hello.bin").read() == payload
    first = vtl("cartridge", "read", "T00001L8", home=tmp_path).stdout
    assert first == b"first"
    dest = tmp_path / "f1.tar"
    vtl("cartridge", "read", "T00001L8", "--file", "1", "-o", str(dest), home=tmp_path)
    assert dest.read_bytes() == blob


def test_cartridge_in_use_is_reported(tmp_path):
    vtl("cartridge", "create", "U00001L8", "--capacity", "1MiB", home=tmp_path)
    with Drive("IBM_LTO8") as drive:
        drive.load(str(tmp_path / "cartridges" / "U00001L8"))
        p = vtl("cartridge", "info", "U00001L8", home=tmp_path, check=False)
        assert p.returncode == 1 and b"in use" in p.stderr
