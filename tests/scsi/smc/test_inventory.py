"""The in-memory library's rules, its hooks for subclasses, and a property test:
whatever sequence of moves, exchanges and operator actions is tried, every
cartridge is in exactly one element, the drive bays agree with the records,
and a refused action changes nothing."""
from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from scsi.smc import Element, ElementType, Inventory, MoveRefused, Refusal

from .conftest import DRIVES, FULL_SLOTS, MAILSLOTS, SLOTS, TRANSPORT, FakeBay, make_elements

ADDRESSES = [TRANSPORT, *MAILSLOTS, *DRIVES, *SLOTS, 2, 9999]


def refusal_of(call, *args) -> Refusal:
    with pytest.raises(MoveRefused) as err:
        call(*args)
    return err.value.refusal


# -- construction ---------------------------------------------------------------------------
@pytest.mark.parametrize("elements, message", [
    ([Element(1, ElementType.STORAGE), Element(1, ElementType.STORAGE)], "two elements"),
    ([Element(1, ElementType.STORAGE, barcode="A1"), Element(2, ElementType.STORAGE, barcode="A1")], "A1"),
    ([Element(1, ElementType.STORAGE, barcode="has space")], "barcode"),
    ([Element(1, ElementType.STORAGE, barcode="X" * 33)], "barcode"),
    ([Element(0x10000, ElementType.STORAGE)], "outside"),
])
def test_bad_inventories(elements, message):
    with pytest.raises(ValueError, match=message):
        Inventory(elements)


def test_bay_must_be_a_drive():
    with pytest.raises(ValueError, match="drive bay"):
        Inventory(make_elements(), {SLOTS[0]: FakeBay()})


def test_reading(library):
    assert [e.address for e in library.elements()] == sorted(e.address for e in make_elements())
    assert library.element(SLOTS[0]).barcode == FULL_SLOTS[SLOTS[0]]
    assert library.where(FULL_SLOTS[SLOTS[3]]).address == SLOTS[3] and library.where("NOPE") is None
    assert refusal_of(library.element, 2) is Refusal.INVALID_ADDRESS


def test_move_rules(library):
    assert refusal_of(library.move, 2, SLOTS[-1]) is Refusal.INVALID_ADDRESS
    assert refusal_of(library.move, SLOTS[-1], SLOTS[-2]) is Refusal.SOURCE_EMPTY
    assert refusal_of(library.move, SLOTS[0], SLOTS[1]) is Refusal.DESTINATION_FULL
    assert refusal_of(library.move, SLOTS[0], TRANSPORT) is Refusal.INVALID_ADDRESS
    library.move(SLOTS[0], SLOTS[0])


# -- hooks -------------------------------------------------------------------------------------
class Journaled(Inventory):
    """What the persistent library does: write intent, carry, write done."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.journal: list[tuple] = []
        self.fail_next = False

    def carry(self, src, dst, barcode):
        self.journal.append(("intent", src.address, dst.address, barcode))
        assert src.barcode == barcode and dst.barcode is None      # called before the records change
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        super().carry(src, dst, barcode)
        self.journal.append(("done", src.address, dst.address, barcode))

    def carry_in(self, element, barcode):
        self.journal.append(("in", element.address, barcode))

    def carry_out(self, element, barcode):
        self.journal.append(("out", element.address, barcode))


def test_subclass_wraps_every_carry():
    lib = Journaled(make_elements(), {a: FakeBay() for a in DRIVES})
    lib.move(SLOTS[0], DRIVES[0])
    lib.exchange(SLOTS[1], DRIVES[0], SLOTS[1])
    lib.operator_insert(MAILSLOTS[0], "NEW001L8")
    assert lib.operator_remove(MAILSLOTS[0]) == "NEW001L8"
    kinds = [j[0] for j in lib.journal]
    assert kinds == ["intent", "done"] * 4 + ["in", "out"]
    assert [j[1:3] for j in lib.journal[2::2][:3]] == [(SLOTS[1], TRANSPORT), (DRIVES[0], SLOTS[1]),
                                                     (TRANSPORT, DRIVES[0])]


def test_failing_carry_changes_nothing():
    bays = {a: FakeBay() for a in DRIVES}
    lib = Journaled(make_elements(), bays)
    lib.move(SLOTS[0], DRIVES[0])
    before = [(e.address, e.barcode, e.source) for e in lib.elements()]
    lib.fail_next = True
    with pytest.raises(OSError):
        lib.move(DRIVES[0], SLOTS[-1])
    assert [(e.address, e.barcode, e.source) for e in lib.elements()] == before
    assert bays[DRIVES[0]].barcode == FULL_SLOTS[SLOTS[0]]
    assert lib.journal[-1][0] == "intent"


def test_validation_comes_before_the_hook():
    lib = Journaled(make_elements(), {a: FakeBay() for a in DRIVES})
    for call, args in ((lib.move, (SLOTS[0], SLOTS[1])), (lib.exchange, (SLOTS[-1], SLOTS[0], SLOTS[-2])),
                       (lib.operator_remove, (MAILSLOTS[0],))):
        with pytest.raises(MoveRefused):
            call(*args)
    assert lib.journal == []


# -- the property test ---------------------------------------------------------------------
def snapshot(lib: Inventory, bays: dict[int, FakeBay]):
    return ([(e.address, e.barcode, e.source, e.imported, e.medium_type) for e in lib.elements()],
            {a: b.barcode for a, b in bays.items()}, lib.door_locked)


class LibraryMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.bays = {a: FakeBay() for a in DRIVES}
        self.lib = Inventory(make_elements(), self.bays)
        self.known = set(FULL_SLOTS.values())
        self.counter = 0

    def attempt(self, call, *args):
        """Run an action; a refusal must leave everything as it was."""
        before = snapshot(self.lib, self.bays)
        try:
            return call(*args)
        except MoveRefused:
            assert snapshot(self.lib, self.bays) == before
        return None

    @rule(src=st.sampled_from(ADDRESSES), dst=st.sampled_from(ADDRESSES))
    def move(self, src, dst):
        self.attempt(self.lib.move, src, dst)

    @rule(src=st.sampled_from(ADDRESSES), first=st.sampled_from(ADDRESSES), second=st.sampled_from(ADDRESSES))
    def exchange(self, src, first, second):
        self.attempt(self.lib.exchange, src, first, second)

    @rule(slot=st.sampled_from(MAILSLOTS))
    def insert(self, slot):
        self.counter += 1
        barcode = f"N{self.counter:05d}L8"
        self.attempt(self.lib.operator_insert, slot, barcode)
        if self.lib.where(barcode) is not None:
            self.known.add(barcode)

    @rule(slot=st.sampled_from(MAILSLOTS))
    def remove(self, slot):
        barcode = self.attempt(self.lib.operator_remove, slot)
        if barcode is not None:
            self.known.discard(barcode)

    @rule(locked=st.booleans())
    def door(self, locked):
        self.lib.lock_door(locked)

    @rule(drive=st.sampled_from(DRIVES), threaded=st.booleans(), prevented=st.booleans())
    def drive_hold(self, drive, threaded, prevented):
        self.bays[drive].threaded = threaded and self.bays[drive].barcode is not None
        self.bays[drive].removal_prevented = prevented

    @rule(drive=st.sampled_from(DRIVES), refuse=st.booleans())
    def drive_refuses(self, drive, refuse):
        # A drive starts refusing media while it is empty: one that refused even the tape it
        # has just let go of would make the robot's way back fail too, which no rollback can
        # undo (test_exchange_medium.py::test_failed_carry_back_leaves_the_records_where_the_tapes_are
        # checks that case: the records then follow the tapes).
        if refuse and self.bays[drive].barcode is not None:
            return
        self.bays[drive].refuse = MoveRefused(Refusal.INCOMPATIBLE, drive) if refuse else None

    @invariant()
    def every_cartridge_in_exactly_one_element(self):
        held = [e.barcode for e in self.lib.elements() if e.barcode is not None]
        assert len(held) == len(set(held))
        assert set(held) == self.known
        for barcode in held:
            assert self.lib.where(barcode).barcode == barcode

    @invariant()
    def bays_agree_with_the_records(self):
        for address, bay in self.bays.items():
            assert bay.barcode == self.lib.element(address).barcode

    @invariant()
    def nothing_rests_in_the_hand(self):
        assert self.lib.element(TRANSPORT).barcode is None

    @invariant()
    def mailslot_flags(self):
        for a in MAILSLOTS:
            e = self.lib.element(a)
            assert not e.imported or e.full


LibraryMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
test_library_properties = LibraryMachine.TestCase
