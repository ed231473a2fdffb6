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


def tar_of(name: str, payload: bytes) -> bytes:
    """A tar archive (USTAR) holding one file."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        ti = tarfile.TarInfo(name)
        ti.size = len(payload)
        tar.addfile(ti, io.BytesIO(payload))
    return archive.getvalue()


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
    p = vtl("cartridge", "list", str(tmp_path / "nowhere"), home=tmp_path, check=False)
    assert p.returncode == 1 and b"is not a directory (it does not exist)" in p.stderr


def test_read_hands_a_tape_file_to_tar(tmp_path):
    """Write a tar archive as tape file 1 through the drive, read it back with the CLI."""
    vtl("cartridge", "create", "T00001L8", "--capacity", "64MiB", home=tmp_path)
    payload = os.urandom(100_000)
    blob = tar_of("hello.bin", payload)
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


def vtl_in(*args, home, data: bytes, check=True):
    env = dict(os.environ, VTL_HOME=str(home))
    p = subprocess.run([sys.executable, "-m", "vtl.cli", *args], input=data, capture_output=True, env=env)
    if check and p.returncode:
        raise AssertionError(p.stderr.decode())
    return p


def test_write_appends_a_tape_file_a_drive_reads_as_records(tmp_path):
    """`tar cf - | vtl cartridge write`: records of --block-size, then a filemark, at the end of
    data; a drive reads them back record by record, with the density of the media written."""
    vtl("cartridge", "create", "W00001L8", "--capacity", "64MiB", home=tmp_path)
    blob = tar_of("hello.bin", os.urandom(50_000))             # 61,440 bytes: six 10 KiB records
    out = vtl_in("cartridge", "write", "W00001L8", home=tmp_path, data=blob).stdout.decode()
    assert out.strip() == "Wrote file 0 of cartridge W00001L8 (partition 0): 61,440 bytes in 6 records of 10240 bytes."
    second = os.urandom(5000)
    r = json.loads(vtl_in("cartridge", "write", "W00001L8", "--block-size", "2048", "--compress", "lz4", "--json",
                          home=tmp_path, data=second).stdout)
    assert (r["file"], r["bytes"], r["records"]) == (1, 5000, 3)
    assert vtl("cartridge", "read", "W00001L8", home=tmp_path).stdout == blob
    assert vtl("cartridge", "read", "W00001L8", "--file", "1", home=tmp_path).stdout == second
    assert json.loads(vtl("cartridge", "info", "W00001L8", "--json", home=tmp_path).stdout)["density"] == "0x5E"

    with Drive("IBM_LTO8") as drive:
        drive.load(str(tmp_path / "cartridges" / "W00001L8"))
        drive.execute(bytes(6))                                 # the new-medium unit attention
        for i in range(6):
            a = drive.execute(bytes([0x08, 0, 0, 0x28, 0, 0]))
            assert a.good and bytes(a.data) == blob[i * 10240:(i + 1) * 10240]
        a = drive.execute(bytes([0x08, 0, 0, 0x28, 0, 0]))
        assert a.decoded_sense().filemark
        assert [len(drive.execute(bytes([0x08, 0, 0, 0x08, 0, 0])).data) for _ in range(3)] == \
            [2048, 2048, 904]


def test_write_is_all_or_nothing_and_refuses_plainly(tmp_path):
    vtl("cartridge", "create", "F00001L8", "--capacity", "1MiB", home=tmp_path)
    vtl_in("cartridge", "write", "F00001L8", home=tmp_path, data=b"kept" * 100)
    before = vtl("cartridge", "read", "F00001L8", home=tmp_path).stdout
    p = vtl_in("cartridge", "write", "F00001L8", home=tmp_path, data=os.urandom(2 * MIB), check=False)
    assert p.returncode == 1 and b"is full after" in p.stderr and b"nothing was appended" in p.stderr
    info = json.loads(vtl("cartridge", "info", "F00001L8", "--json", home=tmp_path).stdout)
    assert info["partitions"][0]["objects"] == 2 and info["partitions"][0]["files"] == 1
    assert vtl("cartridge", "read", "F00001L8", home=tmp_path).stdout == before

    vtl("cartridge", "write-protect", "F00001L8", home=tmp_path)
    p = vtl_in("cartridge", "write", "F00001L8", home=tmp_path, data=b"x", check=False)
    assert p.returncode == 1 and b"write-protected" in p.stderr and b"Traceback" not in p.stderr
    vtl("cartridge", "create", "C00001CU", home=tmp_path)
    p = vtl_in("cartridge", "write", "C00001CU", home=tmp_path, data=b"x", check=False)
    assert p.returncode == 1 and b"cleaning cartridge" in p.stderr
    p = vtl_in("cartridge", "write", "F00001L8", "--partition", "1", home=tmp_path, data=b"x", check=False)
    assert p.returncode == 1 and b"has no partition 1" in p.stderr


def test_write_closes_a_last_file_left_open(tmp_path):
    """A tape whose last records have no filemark after them: the new file is a file of its own."""
    vtl("cartridge", "create", "O00001L8", "--capacity", "8MiB", home=tmp_path)
    with Drive("IBM_LTO8") as drive:
        drive.load(str(tmp_path / "cartridges" / "O00001L8"))
        assert drive.execute(bytes([0x0A, 0, 0, 0, 4, 0]), b"open").good      # no filemark after it
    assert json.loads(vtl_in("cartridge", "write", "O00001L8", "--json", home=tmp_path, data=b"new").stdout)["file"] == 1
    assert vtl("cartridge", "read", "O00001L8", home=tmp_path).stdout == b"open"
    assert vtl("cartridge", "read", "O00001L8", "--file", "1", home=tmp_path).stdout == b"new"


def test_read_of_an_encrypted_file_says_the_key_is_in_the_drive(tmp_path):
    vtl("cartridge", "create", "K00001L8", "--capacity", "8MiB", home=tmp_path)
    page = bytes.fromhex("0010") + (48).to_bytes(2, "big") + bytes([0x40, 0x40, 2, 2, 1, 0, 0]) + bytes(7) \
        + (32).to_bytes(2, "big") + bytes(range(32))
    with Drive("IBM_LTO8") as drive:
        drive.load(str(tmp_path / "cartridges" / "K00001L8"))
        drive.execute(bytes(6))
        assert drive.execute(bytes([0xB5, 0x20, 0, 0x10, 0, 0]) + len(page).to_bytes(4, "big") + bytes(2), page).good
        assert drive.execute(bytes([0x0A, 0, 0, 0, 6, 0]), b"secret").good
        assert drive.execute(bytes([0x10, 0, 0, 0, 1, 0])).good
    p = vtl("cartridge", "read", "K00001L8", home=tmp_path, check=False)
    assert p.returncode == 1 and b"File 0 is encrypted" in p.stderr and b"Traceback" not in p.stderr
