"""READ(6)/WRITE(6)/WRITE FILEMARKS: data, residues, fixed mode, capacity, protection."""
from __future__ import annotations

import mmap
import os

from scsi import LOCAL, SenseKey, Status
from support.answers import run
import support.cdbs as c


def write(drive, data: bytes):
    return run(drive, c.write6(len(data)), data)


def test_variable_blocks_round_trip_and_filemark_sense(drive):
    assert write(drive, b"hello").good
    assert run(drive, c.write_filemarks6(1)).good
    assert write(drive, b"x" * 70000).good
    assert run(drive, c.rewind()).good
    a = run(drive, c.read6(5))
    assert a.good and a.data == b"hello"
    a = run(drive, c.read6(100))
    assert a.status == Status.CHECK_CONDITION
    assert (a.sense.key, a.sense.code, a.sense.filemark, a.sense.information) == (SenseKey.NO_SENSE, (0, 1), True, 100)
    a = run(drive, c.read6(70000))
    assert a.good and a.data == b"x" * 70000
    a = run(drive, c.read6(10))
    assert (a.sense.key, a.sense.code, a.sense.information) == (SenseKey.BLANK_CHECK, (0, 5), 10)


def test_short_and_long_blocks_report_ili_with_residue(drive):
    write(drive, b"a" * 100)
    write(drive, b"b" * 100)
    write(drive, b"c" * 100)
    run(drive, c.rewind())
    a = run(drive, c.read6(150))                 # block shorter than asked
    assert a.sense.ili and a.sense.information == 50 and a.data == b"a" * 100
    a = run(drive, c.read6(60))                  # block longer than asked: negative residue
    assert a.sense.ili and a.sense.information == -40 and a.data == b"b" * 60
    a = run(drive, c.read6(150, sili=True))      # SILI hides the short block
    assert a.good and a.data == b"c" * 100


def test_fixed_block_mode(drive):
    sel = bytes([0, 0, 0x10, 8, 0, 0, 0, 0, 0, 0, 2, 0])     # block descriptor: 512-byte blocks
    assert run(drive, c.mode_select6(len(sel)), sel).good
    assert run(drive, c.write6(3, fixed=True), os.urandom(1536)).good
    run(drive, c.write_filemarks6(1))
    run(drive, c.rewind())
    a = run(drive, c.read6(5, fixed=True))
    assert a.sense.filemark and a.sense.information == 2 and len(a.data) == 1536
    a = run(drive, c.read6(1, fixed=True, sili=True))
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and a.sense.specific.byte == 1


def test_fixed_mode_needs_a_block_length(drive):
    a = run(drive, c.write6(1, fixed=True), b"x" * 512)
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and a.sense.code == (0x24, 0)
    assert (a.sense.specific.byte, a.sense.specific.bit) == (1, 0)


def test_block_too_long_is_refused(drive):
    a = run(drive, bytes([0x0A, 0, 0x80, 0, 0, 0]), b"")    # 8 MiB: one more than the maximum
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and a.sense.specific.byte == 2


def test_missing_data_out_is_a_parameter_list_length_error(drive):
    a = run(drive, c.write6(100), b"short")
    assert a.sense.code == (0x1A, 0)


def test_early_warning_then_volume_overflow(make_drive):
    drive = make_drive(capacity=1024 * 1024, early_warning=200_000)
    block = os.urandom(50_000)
    results = [write(drive, block) for _ in range(30)]
    warned = [i for i, a in enumerate(results) if a.sense and a.sense.key == SenseKey.NO_SENSE]
    full = [i for i, a in enumerate(results) if a.sense and a.sense.key == SenseKey.VOLUME_OVERFLOW]
    assert warned and full and warned[0] < full[0]
    w = results[warned[0]].sense
    assert w.eom and w.code == (0, 2) and w.information == 0
    o = results[full[0]].sense
    assert o.eom and o.code == (0, 2) and o.information == 50_000
    run(drive, c.rewind())
    for i in range(full[0]):
        assert run(drive, c.read6(50_000)).data == block, i


def test_write_protected_cartridge_refuses_writes(make_drive):
    drive = make_drive(write_protected=True)
    a = write(drive, b"x")
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, (0x27, 0))
    a = run(drive, c.mode_sense6(0x3F))
    assert a.data[2] & 0x80                       # WP in the mode header


def test_worm_appends_but_never_overwrites(make_drive):
    drive = make_drive(barcode="W00001LY")
    assert write(drive, b"one").good and write(drive, b"two").good
    run(drive, c.rewind())
    a = write(drive, b"three")
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, (0x30, 0x0C))
    a = run(drive, c.erase())
    assert a.sense.key == SenseKey.DATA_PROTECT
    run(drive, c.space6(3, 0))
    assert write(drive, b"three").good


def test_write_mid_tape_cuts_the_rest(drive):
    for b in (b"1", b"2", b"3"):
        write(drive, b)
    run(drive, c.locate10(1))
    write(drive, b"X")
    run(drive, c.rewind())
    assert run(drive, c.read6(1)).data == b"1"
    assert run(drive, c.read6(1)).data == b"X"
    assert run(drive, c.read6(1)).sense.key == SenseKey.BLANK_CHECK


def test_crc_failure_is_a_medium_error(drive):
    write(drive, os.urandom(1000))            # incompressible: stored as is
    with open(drive.cartridge.active.dat_path, "r+b") as f:
        f.seek(100)
        f.write(b"\xde\xad")
    run(drive, c.rewind())
    a = run(drive, c.read6(1000))
    assert (a.sense.key, a.sense.code) == (SenseKey.MEDIUM_ERROR, (0x11, 0))


def test_compression_follows_dce(drive):
    text = b"tape " * 20000
    drive.compression = False
    write(drive, text)
    plain = drive.cartridge.active.end
    drive.compression = True
    write(drive, text)
    assert drive.cartridge.active.end - plain < plain // 10
    run(drive, c.rewind())
    assert run(drive, c.read6(len(text))).data == text
    assert run(drive, c.read6(len(text))).data == text


def test_read_into_the_callers_buffer(drive):
    write(drive, b"zero-copy")
    run(drive, c.rewind())
    buf = memoryview(bytearray(64))
    r = drive.execute(__import__("scsi").LOCAL, c.read6(9), None, buf)
    assert r.data.obj is buf.obj and bytes(r.data) == b"zero-copy"


def test_verify_checks_crc_and_compares(drive):
    write(drive, b"v" * 100)
    run(drive, c.rewind())
    assert run(drive, c.verify6(100)).good
    run(drive, c.rewind())
    assert run(drive, c.verify6(100, bytcmp=True), b"v" * 100).good
    run(drive, c.rewind())
    a = run(drive, c.verify6(100, bytcmp=True), b"v" * 99 + b"w")
    assert a.sense.key == SenseKey.MISCOMPARE


def test_without_a_buffer_a_read_answers_with_the_block_where_it_lies(drive):
    """An in-process initiator that brings no data-in buffer gets a read-only view of the
    block in the page cache; one that brings a buffer gets the block copied into it."""
    data = os.urandom(3000)
    write(drive, data)
    run(drive, c.rewind())
    a = drive.execute(LOCAL, c.read6(3000))
    assert a.status == Status.GOOD and bytes(a.data) == data
    assert a.data.readonly and isinstance(a.data.obj, mmap.mmap)
    run(drive, c.rewind())
    buf = memoryview(bytearray(4000))
    a = drive.execute(LOCAL, c.read6(3000), None, buf)
    assert bytes(a.data) == data and a.data.obj is buf.obj
    run(drive, c.rewind())
    a = run(drive, c.read6(1000))                             # a short read: ILI, the head part
    assert a.sense.ili and a.sense.information == 1000 - 3000 and bytes(a.data) == data[:1000]
