"""OpenTape against a real node's drive: what opening sets on the drive (density,
compression, variable blocks, reservations), what each operation does on the tape and
reports (counts, residuals, file and block numbers, EOF / EOM / write protect), and what
closing leaves behind.  Another initiator -- a host on the same drive -- checks
reservations from outside, as a second storage system would."""
from __future__ import annotations

import logging

import pytest
from ndmp_node import make_node

from ndmp.constants import ErrorCode as E
from ndmp.constants import TapeMtioOp as O
from ndmp.constants import TapeOpenMode as Mode
from ndmp.constants import TapeStateFlags as F
from ndmp.context import DeviceClaims
from ndmp.sense import SenseKey, parse_sense
from ndmp.tape_drive import MAX_TRANSFER, PREEMPTED_TEXT, TapeIo, TapeOpenError, open_tape, reservation_key
from scsi import Nexus
from vtl.ndmp_backend import NodeBackend

HOST = Nexus("iqn.1994-05.com.example:host", 1)
FIRST_SLOT, DRIVE0 = 4096, 256
GOOD, CHECK, CONFLICT = 0x00, 0x02, 0x18


class Recorder:
    """The drive's path, recording every CDB's opcode (to see what was sent, and what not)."""

    def __init__(self, path):
        self.inner = path
        self.sent: list[bytes] = []
        self.data_out: list[bytes | None] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def execute(self, cdb, data_out=None, data_in=None, *, timeout=600.0):
        self.sent.append(bytes(cdb))
        self.data_out.append(bytes(data_out) if data_out is not None else None)
        return self.inner.execute(cdb, data_out, data_in, timeout=timeout)

    def opcodes(self) -> list[int]:
        return [c[0] for c in self.sent]


class RecordingBackend(NodeBackend):
    def __init__(self, node):
        super().__init__(node)
        self.paths: list[Recorder] = []

    def open_tape(self, alias, initiator):
        t = super().open_tape(alias, initiator)
        rec = Recorder(t.path)
        self.paths.append(rec)
        return type(t)(rec, t.serial, t.model, t.config, t.load_next)


@pytest.fixture
def node(tmp_path):
    n = make_node(tmp_path)
    n.library().load(FIRST_SLOT, DRIVE0)
    yield n
    n.close()


@pytest.fixture
def backend(node):
    return RecordingBackend(node)


def host(node, cdb, data_out=None, data_in: int | None = None):
    """A command from another initiator (a host on the same drive)."""
    d = node.find_device("st0")
    r = d.execute(HOST, bytes(cdb), data_out, memoryview(bytearray(data_in)) if data_in else None)
    return r.status, parse_sense(bytes(r.sense)) if r.sense else None, bytes(r.data or b"")


def host_ready(node):
    """Clear the host's unit attentions (power on, mode parameters changed...)."""
    for _ in range(8):
        status, sense, _ = host(node, bytes(6))
        if status != CHECK or sense.key != SenseKey.UNIT_ATTENTION:
            return status
    return status


def opened(backend, device="nrst0l", mode=Mode.NDMP_TAPE_RDWR_MODE, **kw):
    return open_tape(backend, device, mode, initiator="ndmp:session1", **kw)


def records(tape, *sizes: int, fill: int = 0) -> None:
    for i, n in enumerate(sizes):
        io = tape.write(bytes([(fill + i) & 0xFF]) * n)
        assert (io.error, io.count) == (E.NDMP_NO_ERR, n)


def mt(tape, op, count: int) -> tuple[E, int]:
    io = tape.mtio(op, count)
    return io.error, io.count


def read(tape, size: int = 65536):
    buf = memoryview(bytearray(size))
    io = tape.read_into(buf)
    return io.error, bytes(buf[:io.count])


def position(tape) -> tuple[int | None, int | None]:
    s = tape.get_state()
    assert s.error == E.NDMP_NO_ERR
    return s.file_num, s.blockno


# ---------------------------------------------------------------------------- opening

@pytest.mark.parametrize("name", ["bogus", "nrst0", "nrst0x", "st0l", "nrst00l", ""])
def test_bad_device_names(backend, name):
    with pytest.raises(TapeOpenError) as e:
        opened(backend, name)
    assert e.value.error == E.NDMP_NO_DEVICE_ERR


def test_unknown_alias(backend):
    with pytest.raises(TapeOpenError) as e:
        opened(backend, "nrst9l")
    assert e.value.error == E.NDMP_NO_DEVICE_ERR


def test_bad_mode(backend):
    with pytest.raises(TapeOpenError) as e:
        opened(backend, mode=123)
    assert e.value.error == E.NDMP_ILLEGAL_ARGS_ERR
    assert backend.paths == []            # refused before any path was opened


def test_empty_drive(backend):
    with pytest.raises(TapeOpenError) as e:
        opened(backend, "nrst1l")
    assert e.value.error == E.NDMP_NO_TAPE_LOADED_ERR
    assert backend.paths[-1].inner.nexus is not None


@pytest.mark.parametrize("mode", list(Mode))
def test_modes(backend, mode):
    t = opened(backend, mode=mode)
    assert t.writable == (mode != Mode.NDMP_TAPE_READ_MODE)
    assert t.get_state().file_num == 0
    assert t.close() == E.NDMP_NO_ERR


@pytest.mark.parametrize("letter", "lmha")
def test_density_and_compression_of_the_letter(node, backend, letter):
    drive = node.find_device("st0").device
    setting = node.find_device("st0").bay.spec.tape_config().setting(letter)
    drive.density_code = 0x5C                 # something else first: opening must set it
    drive.compression = not setting.compression
    t = opened(backend, f"nrst0{letter}")
    assert drive.density_code == setting.density
    # MODE SENSE(6) of the data compression page, through the session's own path
    r = t.path.execute(bytes([0x1A, 0, 0x0F, 0, 0xFF, 0]), None, 0xFF)
    data = bytes(r.data_in)
    page = data[4 + data[3]:]
    assert page[0] & 0x3F == 0x0F
    assert bool(page[2] & 0x80) == setting.compression            # DCE
    # the MODE SELECT(6) that set them: header, block descriptor, data compression page
    rec = backend.paths[-1]
    [sent] = [d for c, d in zip(rec.sent, rec.data_out) if c[0] == 0x15]
    assert sent[3] == 8 and sent[4] == setting.density and int.from_bytes(sent[9:12], "big") == 0
    assert sent[12] & 0x3F == 0x0F and int.from_bytes(sent[16:20], "big") == setting.algorithm
    t.close()


def test_variable_block_mode(node, backend):
    node.find_device("st0").device.block_length = 512
    t = opened(backend)
    assert t.get_state().block_size == 0
    r = t.path.execute(bytes([0x1A, 0, 0x00 | 0x0F, 0, 0xFF, 0]), None, 0xFF)
    bd = bytes(r.data_in)[4:12]
    assert int.from_bytes(bd[5:8], "big") == 0
    t.close()


def test_without_a_configuration_the_drive_keeps_its_settings(node, backend):
    drive = node.find_device("st0").device
    drive.density_code, drive.compression = 0x5C, False

    class Bare(RecordingBackend):
        def open_tape(self, alias, initiator):
            t = super().open_tape(alias, initiator)
            return type(t)(t.path, t.serial, t.model, None, t.load_next)

    t = opened(Bare(node), "nrst0a")
    assert (drive.density_code, drive.compression, drive.block_length) == (0x5C, False, 0)
    t.close()


def test_write_protected_cartridge(node, backend):
    node.find_device("st0").device.cartridge.write_protected = True
    for mode in (Mode.NDMP_TAPE_RDWR_MODE, Mode.NDMP_TAPE_RAW_MODE):
        with pytest.raises(TapeOpenError) as e:
            opened(backend, mode=mode)
        assert e.value.error == E.NDMP_WRITE_PROTECT_ERR
    t = opened(backend, mode=Mode.NDMP_TAPE_READ_MODE)
    assert t.get_state().flags & F.NDMP_TAPE_STATE_WR_PROT
    t.close()


# ---------------------------------------------------------------------------- data

def test_write_read_filemarks_and_end_of_data(backend):
    t = opened(backend)
    records(t, 512, 1024, 10240)
    assert mt(t, O.NDMP_MTIO_EOF, 1) == (E.NDMP_NO_ERR, 0)
    records(t, 32768, fill=9)
    assert t.mtio(O.NDMP_MTIO_REW, 1).error == E.NDMP_NO_ERR
    assert read(t) == (E.NDMP_NO_ERR, bytes([0]) * 512)
    assert read(t) == (E.NDMP_NO_ERR, bytes([1]) * 1024)
    assert read(t) == (E.NDMP_NO_ERR, bytes([2]) * 10240)
    assert position(t) == (0, 3)
    assert read(t) == (E.NDMP_EOF_ERR, b"")
    assert position(t) == (1, 0)              # the drive's head is past the filemark
    assert read(t) == (E.NDMP_NO_ERR, bytes([9]) * 32768)
    assert read(t) == (E.NDMP_EOM_ERR, b"")   # end of data
    assert read(t) == (E.NDMP_EOM_ERR, b"")
    t.close()


def test_short_and_long_records(backend):
    t = opened(backend)
    records(t, 1024, 1024, 1024)
    t.mtio(O.NDMP_MTIO_REW, 1)
    assert read(t, 4096) == (E.NDMP_NO_ERR, bytes([0]) * 1024)          # record shorter: its length
    assert read(t, 100) == (E.NDMP_NO_ERR, bytes([1]) * 100)            # longer: the buffer, rest lost
    assert read(t, 1024) == (E.NDMP_NO_ERR, bytes([2]) * 1024)
    t.close()


def test_zero_lengths_send_nothing(backend):
    t = opened(backend)
    rec = backend.paths[-1]
    before = len(rec.sent)
    assert t.write(b"") == TapeIo(E.NDMP_NO_ERR, 0)
    assert t.read_into(memoryview(bytearray(0))) == TapeIo(E.NDMP_NO_ERR, 0)
    assert len(rec.sent) == before
    t.close()


def test_read_longer_than_a_read6_can_carry(backend):
    t = opened(backend)
    assert t.read_into(memoryview(bytearray(MAX_TRANSFER + 1))).error == E.NDMP_ILLEGAL_ARGS_ERR
    t.close()


def test_read_only_open_refuses_writes_without_sending_them(backend):
    t = opened(backend, mode=Mode.NDMP_TAPE_READ_MODE)
    rec = backend.paths[-1]
    before = len(rec.sent)
    assert t.write(b"x" * 100).error == E.NDMP_PERMISSION_ERR
    assert mt(t, O.NDMP_MTIO_EOF, 1) == (E.NDMP_PERMISSION_ERR, 1)
    assert len(rec.sent) == before
    t.close()


def test_early_warning_then_end_of_medium(backend):
    t = opened(backend)
    record = bytes(256 * 1024)
    ios = []
    for _ in range(80):                       # 16 MiB cartridge: 64 records fill it
        io = t.write(record)
        ios.append(io)
        if io.error != E.NDMP_NO_ERR:
            break
    warned = [i for i, io in enumerate(ios) if io.early_warning]
    assert warned and all(io.count == len(record) for io in ios[:-1])
    assert all(io.early_warning for io in ios[warned[0]:-1])             # every record in the zone is written
    assert ios[-1].error == E.NDMP_EOM_ERR and ios[-1].count == 0        # the one that did not fit
    written = len(ios) - 1
    t.mtio(O.NDMP_MTIO_REW, 1)
    assert mt(t, O.NDMP_MTIO_FSR, 1000) == (E.NDMP_NO_ERR, 1000 - written)
    s = t.get_state()
    assert s.total_space == 16 << 20 and s.space_remain < 1 << 20
    t.close()


# ---------------------------------------------------------------------------- positioning

def test_ndmjob_residuals(backend):
    """NDMJOB's T-BWR sequence: exact residuals at BOT, over a filemark and at EOD."""
    t = opened(backend)
    assert mt(t, O.NDMP_MTIO_REW, 1) == (E.NDMP_NO_ERR, 0)
    assert mt(t, O.NDMP_MTIO_BSR, 100) == (E.NDMP_NO_ERR, 100)
    assert mt(t, O.NDMP_MTIO_BSF, 100) == (E.NDMP_NO_ERR, 100)
    assert mt(t, O.NDMP_MTIO_EOF, 1) == (E.NDMP_NO_ERR, 0)
    assert mt(t, O.NDMP_MTIO_BSF, 100) == (E.NDMP_NO_ERR, 99)
    assert position(t) == (0, 0)
    assert mt(t, O.NDMP_MTIO_FSF, 100) == (E.NDMP_NO_ERR, 99)
    assert read(t)[0] == E.NDMP_EOM_ERR
    assert mt(t, O.NDMP_MTIO_REW, 1) == (E.NDMP_NO_ERR, 0)
    records(t, 512)
    assert mt(t, O.NDMP_MTIO_BSR, 100) == (E.NDMP_NO_ERR, 99)
    assert mt(t, O.NDMP_MTIO_FSR, 100) == (E.NDMP_NO_ERR, 99)
    assert mt(t, O.NDMP_MTIO_FSR, 100) == (E.NDMP_NO_ERR, 100)
    assert mt(t, O.NDMP_MTIO_FSF, 100) == (E.NDMP_NO_ERR, 100)
    t.close()


def test_spacing_over_records_stops_at_filemarks(backend):
    t = opened(backend)
    records(t, 100, 100, 100)
    t.mtio(O.NDMP_MTIO_EOF, 1)
    records(t, 100, 100, 100, 100, fill=3)
    t.mtio(O.NDMP_MTIO_EOF, 1)
    t.mtio(O.NDMP_MTIO_REW, 1)
    assert mt(t, O.NDMP_MTIO_FSF, 1) == (E.NDMP_NO_ERR, 0) and position(t) == (1, 0)
    assert mt(t, O.NDMP_MTIO_FSR, 1000) == (E.NDMP_NO_ERR, 996)      # four records, then the filemark
    assert position(t) == (1, 4)                                        # before it (NDMP v4)
    assert mt(t, O.NDMP_MTIO_BSR, 1000) == (E.NDMP_NO_ERR, 996)      # back to the start of file 1
    assert position(t) == (1, 0)
    assert mt(t, O.NDMP_MTIO_FSR, 2) == (E.NDMP_NO_ERR, 0) and position(t) == (1, 2)
    assert read(t) == (E.NDMP_NO_ERR, bytes([5]) * 100)
    assert mt(t, O.NDMP_MTIO_BSR, 2) == (E.NDMP_NO_ERR, 0) and position(t) == (1, 1)
    assert mt(t, O.NDMP_MTIO_FSR, 0) == (E.NDMP_NO_ERR, 0) and position(t) == (1, 1)
    # back over a filemark: the start of that file is not known, and is said so
    assert mt(t, O.NDMP_MTIO_BSF, 1) == (E.NDMP_NO_ERR, 0) and position(t) == (0, None)
    assert mt(t, O.NDMP_MTIO_FSF, 1) == (E.NDMP_NO_ERR, 0) and position(t) == (1, 0)
    # on to end of data: the file number counts on; where the last file began is not known
    assert mt(t, O.NDMP_MTIO_FSF, 5) == (E.NDMP_NO_ERR, 4) and position(t) == (2, None)
    t.close()


def test_position_of_a_tape_left_mid_way(backend):
    t = opened(backend)
    records(t, 10)
    t.mtio(O.NDMP_MTIO_EOF, 2)
    records(t, 10, 10)
    t.close()                                  # nr: the tape stays where it is
    t = opened(backend, mode=Mode.NDMP_TAPE_READ_MODE)
    assert position(t) == (2, None)            # the file number from the drive; the block is unknown
    t.mtio(O.NDMP_MTIO_REW, 1)
    assert position(t) == (0, 0)
    t.close()


def test_unload_and_test_unit_ready(backend):
    t = opened(backend)
    assert mt(t, O.NDMP_MTIO_TUR, 0) == (E.NDMP_NO_ERR, 0)
    assert mt(t, O.NDMP_MTIO_OFF, 1) == (E.NDMP_NO_ERR, 0)
    assert t.mtio(O.NDMP_MTIO_TUR, 0).error == E.NDMP_NO_TAPE_LOADED_ERR
    assert position(t) == (None, None)
    assert t.close() == E.NDMP_NO_ERR


def test_pass_through_forgets_the_position(backend):
    t = opened(backend)
    records(t, 10)
    assert position(t) == (0, 1)
    t.execute_cdb(lambda path: path.execute(bytes([0x11, 0x01, 0, 0, 1, 0])), 0x11)   # SPACE 1 filemark
    assert position(t) == (None, None)
    t.execute_cdb(lambda path: path.execute(bytes([0x01, 0, 0, 0, 0, 0])), 0x01)      # REWIND
    assert position(t) == (0, 0)
    t.close()


# ---------------------------------------------------------------------------- closing

def test_close_flushes_and_rewind_types(node, backend):
    t = opened(backend, "rst0l")
    records(t, 10, 10)
    assert t.close() == E.NDMP_NO_ERR
    sent = backend.paths[-1].sent
    assert bytes([0x10, 0, 0, 0, 0, 0]) in sent and sent[-1][0] == 0x01    # WRITE FILEMARKS(0), then REWIND
    assert node.find_device("st0").device.cartridge.active.pos == 0
    t = opened(backend, "nrst0l")
    records(t, 10)
    t.close()
    assert node.find_device("st0").device.cartridge.active.pos == 1
    assert t.close() == E.NDMP_DEV_NOT_OPEN_ERR


def test_unload_reload_close_loads_the_next_cartridge(node, backend):
    t = opened(backend, "urst0l")
    assert t.get_state().flags & F.NDMP_TAPE_STATE_UNLOAD
    assert t.close() == E.NDMP_NO_ERR
    lib = node.library()
    assert lib.element(FIRST_SLOT).barcode == "TST000L8"
    assert lib.element(DRIVE0).barcode == "TST001L8"


def test_claims(node, backend):
    claims = DeviceClaims()
    t = open_tape(backend, "nrst0l", 1, initiator="ndmp:session1", claims=claims, session_id=1)
    with pytest.raises(TapeOpenError) as e:
        open_tape(backend, "rst0a", 0, initiator="ndmp:session2", claims=claims, session_id=2)
    assert e.value.error == E.NDMP_DEVICE_BUSY_ERR
    assert claims.owner("TESTDRV0") == 1
    t.release()                                 # a dropped connection
    assert claims.owner("TESTDRV0") is None
    open_tape(backend, "rst0a", 0, initiator="ndmp:session2", claims=claims, session_id=2).close()


def test_claim_given_back_when_the_open_fails(backend):
    claims = DeviceClaims()
    with pytest.raises(TapeOpenError):
        open_tape(backend, "nrst1l", 1, initiator="ndmp:session1", claims=claims, session_id=1)
    assert claims.owner("TESTDRV1") is None


# ---------------------------------------------------------------------------- reservations

@pytest.mark.parametrize("kind", ["scsi", "persistent"])
def test_another_initiator_is_kept_out_while_open(node, backend, kind):
    t = opened(backend, reservations=kind)
    host_ready(node)
    assert host(node, [0x0A, 0, 0, 0, 4, 0], b"host")[0] == CONFLICT
    records(t, 10)
    t.close()
    assert host_ready(node) == GOOD
    assert host(node, [0x0A, 0, 0, 0, 4, 0], b"host")[0] == GOOD


def test_no_reservation_when_off(node, backend):
    t = opened(backend, reservations="off")
    host_ready(node)
    assert host(node, [0x0A, 0, 0, 0, 4, 0], b"host")[0] == GOOD
    assert [c for c in backend.paths[-1].opcodes() if c in (0x16, 0x5F)] == []
    t.close()


@pytest.mark.parametrize("kind", ["off", "scsi"])
def test_a_drive_reserved_by_another_initiator_is_busy(node, backend, kind):
    host_ready(node)
    assert host(node, [0x16, 0, 0, 0, 0, 0])[0] == GOOD           # RESERVE(6) by the host
    with pytest.raises(TapeOpenError) as e:
        opened(backend, reservations=kind)
    assert e.value.error == E.NDMP_DEVICE_BUSY_ERR
    assert host(node, [0x17, 0, 0, 0, 0, 0])[0] == GOOD           # RELEASE(6)
    opened(backend, reservations=kind).close()


def pr_out(node, action: int, key: int, sa_key: int, type_: int = 0):
    params = key.to_bytes(8, "big") + sa_key.to_bytes(8, "big") + bytes(8)
    return host(node, [0x5F, action, type_, 0, 0, 0, 0, 0, 24, 0], params)


def test_persistent_reservation_held_elsewhere_is_busy(node, backend):
    host_ready(node)
    assert pr_out(node, 0x06, 0, 0xABCD)[0] == GOOD               # host registers
    assert pr_out(node, 0x01, 0xABCD, 0, 3)[0] == GOOD            # and reserves, Exclusive Access
    with pytest.raises(TapeOpenError) as e:
        opened(backend, reservations="persistent")
    assert e.value.error == E.NDMP_DEVICE_BUSY_ERR


def test_persistent_preemption_is_reported(node, backend, caplog):
    told = []
    t = opened(backend, reservations="persistent", notify=told.append)
    host_ready(node)
    records(t, 10)
    key = reservation_key("ndmp")
    assert pr_out(node, 0x06, 0, 0xBEEF)[0] == GOOD
    assert pr_out(node, 0x04, 0xBEEF, key, 3)[0] == GOOD          # PREEMPT our key
    with caplog.at_level(logging.ERROR, logger="ndmp.tape"):
        io = t.write(b"after")
    assert io.error == E.NDMP_IO_ERR
    assert PREEMPTED_TEXT in caplog.text and told == [f"{PREEMPTED_TEXT}: nrst0l"]
    assert t.write(b"again").error == E.NDMP_IO_ERR and len(told) == 1
    assert t.mtio(O.NDMP_MTIO_REW, 1).error == E.NDMP_IO_ERR
    assert t.close() == E.NDMP_NO_ERR
    assert host(node, [0x0A, 0, 0, 0, 4, 0], b"host")[0] == GOOD   # the host holds it now


def test_scsi_reservation_lost_to_a_reset_is_reported(node, backend, caplog):
    host_ready(node)
    t = opened(backend, reservations="scsi")
    records(t, 10)
    node.find_device("st0").device.logical_unit_reset()          # releases SPC-2 reservations
    host_ready(node)
    assert host(node, [0x16, 0, 0, 0, 0, 0])[0] == GOOD          # the host takes the drive
    with caplog.at_level(logging.ERROR, logger="ndmp.tape"):
        assert t.write(b"x").error == E.NDMP_IO_ERR
    assert PREEMPTED_TEXT in caplog.text
    t.close()


def test_scsi_reservation_retaken_after_a_reset_nobody_used(node, backend):
    t = opened(backend, reservations="scsi")
    node.find_device("st0").device.logical_unit_reset()
    assert t.write(b"x" * 10).error == E.NDMP_NO_ERR
    host_ready(node)
    assert host(node, [0x0A, 0, 0, 0, 4, 0], b"host")[0] == CONFLICT
    t.close()
