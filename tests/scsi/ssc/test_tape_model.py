"""Property test: random sequences of tape operations against the drive and a
tiny reference model of tape semantics; every answer is compared, sense bits
and residues included."""
from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from images.cartridge import Cartridge
from scsi import LOCAL, SenseKey, Status
from scsi.sense import decode
from scsi.ssc import DrivePersonality, TapeDrive

from support.cdbs import (erase, locate10, read6, read_position, rewind, space6, write6, write_filemarks6)

FM = "FM"


@dataclass
class Expect:
    key: SenseKey | None = None      # None: GOOD
    asc: tuple[int, int] = (0, 0)
    info: int | None = None
    filemark: bool = False
    eom: bool = False
    ili: bool = False
    data: bytes = b""


class TapeModel:
    """Tape semantics in twenty lines: a list of blocks and filemarks, a head."""

    def __init__(self):
        self.tape: list = []
        self.pos = 0

    def write(self, item):
        del self.tape[self.pos:]
        self.tape.append(item)
        self.pos += 1

    def read(self, n):
        if self.pos == len(self.tape):
            return Expect(SenseKey.BLANK_CHECK, (0, 5), info=n)
        item = self.tape[self.pos]
        self.pos += 1
        if item == FM:
            return Expect(SenseKey.NO_SENSE, (0, 1), info=n, filemark=True)
        if len(item) == n:
            return Expect(data=item)
        return Expect(SenseKey.NO_SENSE, (0, 0), info=n - len(item), ili=True, data=item[:n])

    def fm_positions(self):
        return [i for i, x in enumerate(self.tape) if x == FM]

    def space_blocks(self, n):
        if n >= 0:
            for i in range(n):
                if self.pos == len(self.tape):
                    return Expect(SenseKey.BLANK_CHECK, (0, 5), info=n - i)
                item = self.tape[self.pos]
                self.pos += 1
                if item == FM:
                    return Expect(SenseKey.NO_SENSE, (0, 1), info=n - i, filemark=True)
            return Expect()
        n = -n
        for i in range(n):
            if self.pos == 0:
                return Expect(SenseKey.NO_SENSE, (0, 4), info=n - i, eom=True)
            if self.tape[self.pos - 1] == FM:
                self.pos -= 1
                return Expect(SenseKey.NO_SENSE, (0, 1), info=n - i, filemark=True)
            self.pos -= 1
        return Expect()

    def space_filemarks(self, n):
        if n >= 0:
            for i in range(n):
                nxt = [p for p in self.fm_positions() if p >= self.pos]
                if not nxt:
                    self.pos = len(self.tape)
                    return Expect(SenseKey.BLANK_CHECK, (0, 5), info=n - i)
                self.pos = nxt[0] + 1
            return Expect()
        n = -n
        for i in range(n):
            prev = [p for p in self.fm_positions() if p < self.pos]
            if not prev:
                self.pos = 0
                return Expect(SenseKey.NO_SENSE, (0, 4), info=n - i, eom=True)
            self.pos = prev[-1]
        return Expect()

    def locate(self, obj):
        if obj > len(self.tape):
            self.pos = len(self.tape)
            return Expect(SenseKey.BLANK_CHECK, (0, 5))
        self.pos = obj
        return Expect()


blocks = st.binary(min_size=1, max_size=300)


class DriveVersusModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.model = TapeModel()

    @initialize(compressed=st.booleans(), tmp=st.integers(0, 2**32))
    def setup(self, compressed, tmp):
        import tempfile
        self.dir = tempfile.TemporaryDirectory()
        self.drive = TapeDrive(DrivePersonality.bundled("IBM_LTO8"), "PROP", power_on_ua=False)
        self.drive.insert(Cartridge.create(self.dir.name + "/c", capacity=1 << 26))
        self.drive.compression = compressed
        self.drive.unit_attentions.clear()

    def teardown(self):
        if getattr(self, "drive", None) is not None and self.drive.cartridge is not None:
            self.drive.eject().close()
            self.dir.cleanup()

    def check(self, cdb, expect: Expect, data=None):
        r = self.drive.execute(LOCAL, cdb, data)
        if expect.key is None:
            assert r.status == Status.GOOD, (cdb.hex(), decode(r.sense))
        else:
            assert r.status == Status.CHECK_CONDITION, cdb.hex()
            s = decode(r.sense)
            assert (s.key, (s.asc, s.ascq), s.information, s.filemark, s.eom, s.ili) == (
                expect.key, expect.asc, expect.info, expect.filemark, expect.eom, expect.ili), (cdb.hex(), s)
        assert bytes(r.data) == expect.data, cdb.hex()

    @rule(data=blocks)
    def write(self, data):
        self.model.write(data)
        self.check(write6(len(data)), Expect(), data)

    @rule(n=st.integers(1, 3))
    def write_filemarks(self, n):
        for _ in range(n):
            self.model.write(FM)
        self.check(write_filemarks6(n), Expect())

    @rule(n=st.integers(1, 400), near=st.booleans(), delta=st.integers(-20, 20), sili=st.booleans())
    def read(self, n, near, delta, sili):
        m = self.model
        if near and m.pos < len(m.tape) and m.tape[m.pos] != FM:
            n = max(1, len(m.tape[m.pos]) + delta)    # around the block's own length
        e = self.model.read(n)
        if sili and e.ili and e.info > 0:
            e = Expect(data=e.data)       # SILI hides short blocks only
        elif sili and e.ili:
            e = Expect(data=e.data)       # ...and long ones in variable-block mode
        self.check(read6(n, sili=sili), e)

    @rule(n=st.integers(-6, 6))
    def space_blocks(self, n):
        self.check(space6(0, n), self.model.space_blocks(n))

    @rule(n=st.integers(-3, 3))
    def space_filemarks(self, n):
        self.check(space6(1, n), self.model.space_filemarks(n))

    @rule()
    def space_eod(self):
        self.model.pos = len(self.model.tape)
        self.check(space6(3, 0), Expect())

    @rule(obj=st.integers(0, 40))
    def locate(self, obj):
        self.check(locate10(obj), self.model.locate(obj))

    @rule()
    def rewind(self):
        self.model.pos = 0
        self.check(rewind(), Expect())

    @rule()
    def erase(self):
        del self.model.tape[self.model.pos:]
        self.check(erase(), Expect())

    @rule(index=st.sampled_from(["kept", "deleted", "truncated"]))
    def reload(self, index):
        """Take the cartridge out and put it back, its files closed and opened again: what
        was written is all there, the head at BOT.  An index that is missing or cut short
        (an older copy) is rebuilt from the log."""
        cart = self.drive.eject()
        path = cart.path
        cart.close()
        idx = os.path.join(path, "p0.idx")
        if index == "deleted" and os.path.exists(idx):
            os.unlink(idx)
        elif index == "truncated" and os.path.exists(idx):
            os.truncate(idx, os.path.getsize(idx) // 2)
        self.drive.insert(Cartridge.open(path))
        self.drive.unit_attentions.clear()
        self.model.pos = 0

    @invariant()
    def position_agrees(self):
        if not hasattr(self, "drive"):
            return
        r = self.drive.execute(LOCAL, read_position(6))
        assert r.status == Status.GOOD
        data = bytes(r.data)
        assert int.from_bytes(data[8:16], "big") == self.model.pos
        assert int.from_bytes(data[16:24], "big") == self.model.tape[: self.model.pos].count(FM)
        assert bool(data[0] & 0x80) == (self.model.pos == 0)


DriveVersusModel.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None,
                                              suppress_health_check=[HealthCheck.too_slow])
TestDriveVersusModel = DriveVersusModel.TestCase
