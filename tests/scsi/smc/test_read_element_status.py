"""READ ELEMENT STATUS: python-scsi builds the CDB and decodes the pages; what it
cannot decode (device identifiers, LU VALID/LUN, truncated byte counts) is
read with our construct declarations and at the byte offsets of SMC-3's tables.

python-scsi notes (worked around here, not in the shared adapter):
* it decodes the whole data-in buffer it allocated, not the bytes the target
  transferred, so a truncated answer gains phantom zero descriptors; truncation
  is checked with ``parse_report`` and pyscsi only on a descriptor boundary;
* its decoder ignores BYTE COUNT OF REPORT AVAILABLE and the data transfer
  descriptor's bytes 6-7 (LU VALID, LUN) and the device identifier after the
  volume tag, so those are checked with ``parse_report`` and raw offsets;
* its CDB builder masks ELEMENT TYPE CODE with 07h although the field is four
  bits (byte 1 bits 3-0), so codes 8-15 cannot be sent with it: the
  reserved-code test writes the CDB by hand.
"""
from __future__ import annotations

import pytest

from scsi.sense import Asc, SenseKey
from scsi.smc import ElementType
from scsi.smc.descriptors import parse_report

from .conftest import (
    DRIVES, FULL_SLOTS, MAILSLOTS, SLOTS, TRANSPORT, cdb_pointer, expect, read_element_status,
)

ALL = TRANSPORT, *MAILSLOTS, *DRIVES, *SLOTS


def pages_by_type(result):
    return {p["element_type"]: p for p in result["element_status_pages"]}


def test_all_four_types_with_volume_tags(pyscsi, library):
    r = pyscsi.readelementstatus(0, 0xFFFF, voltag=1, alloclen=0xFFFF).result
    assert r["first_element_address"] == TRANSPORT and r["num_elements"] == len(ALL)
    assert [p["element_type"] for p in r["element_status_pages"]] == [1, 3, 4, 2]   # address order
    pages = pages_by_type(r)
    assert all(p["pvoltag"] == 1 and p["avoltag"] == 0 for p in pages.values())

    hand = pages[1]["element_descriptors"]
    assert [(x["element_address"], x["full"]) for x in hand] == [(TRANSPORT, 0)]

    mail = pages[3]["element_descriptors"]
    assert [x["element_address"] for x in mail] == MAILSLOTS
    assert all((x["inenab"], x["exenab"], x["access"], x["impexp"], x["full"]) == (1, 1, 1, 0, 0)
               for x in mail)

    drives = pages[4]["element_descriptors"]
    assert [x["element_address"] for x in drives] == DRIVES
    assert all(x["access"] == 1 and x["full"] == 0 for x in drives)

    slots = pages[2]["element_descriptors"]
    assert [x["element_address"] for x in slots] == SLOTS
    for x in slots:
        barcode = FULL_SLOTS.get(x["element_address"])
        assert x["full"] == (barcode is not None)
        tag = bytes(x["primary_volume_tag"])
        if barcode:
            assert tag == barcode.encode().ljust(32) + bytes(4) and x["medium_type"] == 1
        else:
            assert tag == bytes(36) and x["medium_type"] == 0


def test_without_volume_tags_descriptors_are_16_bytes(run):
    rep = parse_report(run(read_element_status()).data)
    assert {p.descriptor_length for p in rep.pages} == {16}
    assert not any(p.voltags.pvoltag for p in rep.pages)


def test_device_identifiers_and_luns(pyscsi, run, library):
    pyscsi.movemedium(0, SLOTS[0], DRIVES[1])
    r = pyscsi.readelementstatus(DRIVES[0], 0xFFFF, element_type=4, voltag=1, dvcid=1).result
    page, = r["element_status_pages"]
    assert page["element_type"] == 4
    assert [x["full"] for x in page["element_descriptors"]] == [0, 1, 0]
    loaded = page["element_descriptors"][1]
    assert (loaded["svalid"], loaded["source_storage_element_address"]) == (1, SLOTS[0])
    assert bytes(loaded["primary_volume_tag"])[:8] == FULL_SLOTS[SLOTS[0]].encode()

    # What pyscsi leaves undecoded, from SMC-3's data transfer element descriptor.
    raw = bytes(run(read_element_status(DRIVES[0], element_type=4, voltag=True, dvcid=True)).data)
    assert int.from_bytes(raw[10:12], "big") == 86              # ELEMENT DESCRIPTOR LENGTH
    for i, address in enumerate(DRIVES):
        desc = raw[16 + 86 * i:16 + 86 * (i + 1)]
        assert int.from_bytes(desc[0:2], "big") == address
        assert desc[6] == 0x10 | (i + 1)                          # LU VALID, LUN
        assert desc[48:52] == bytes([2, 1, 0, 34])               # ASCII, T10 vendor ID, length 34
        assert desc[52:86] == b"IBM     ULT3580-TD8     " + f"10WT{i:06d}".encode()
    rep = parse_report(raw)
    ids = [x.device_identifier for x in rep.pages[0].descriptors]
    assert [(i.head.code_set, i.head.identifier_type) for i in ids] == [(2, 1)] * 3


def test_device_identifiers_only_for_drives(run):
    rep = parse_report(run(read_element_status(voltag=True, dvcid=True)).data)
    lengths = {ElementType(p.element_type): p.descriptor_length for p in rep.pages}
    assert lengths == {ElementType.TRANSPORT: 52, ElementType.IMPORT_EXPORT: 52,
                       ElementType.DATA_TRANSFER: 86, ElementType.STORAGE: 52}
    for p in rep.pages:
        if p.element_type != 4:
            assert all(x.device_identifier.identifier == b"" for x in p.descriptors)


def test_drive_without_identity_reports_a_zero_length_identifier(run, library):
    library.element(DRIVES[2]).identifier = None
    rep = parse_report(run(read_element_status(DRIVES[0], element_type=4, dvcid=True)).data)
    last = rep.pages[0].descriptors[2].device_identifier
    assert (last.head.code_set, last.head.identifier_type, last.identifier) == (0, 0, b"")
    assert rep.pages[0].descriptor_length == 16 + 34     # still one length for the page


def test_curdata_changes_nothing(run):
    assert bytes(run(read_element_status(voltag=True, curdata=True)).data) == \
        bytes(run(read_element_status(voltag=True, curdata=False)).data)


@pytest.mark.parametrize("code, expected", [(1, [TRANSPORT]), (2, SLOTS), (3, MAILSLOTS), (4, DRIVES)])
def test_element_type_filter(pyscsi, code, expected):
    r = pyscsi.readelementstatus(0, 0xFFFF, element_type=code).result
    page, = r["element_status_pages"]
    assert page["element_type"] == code
    assert [x["element_address"] for x in page["element_descriptors"]] == expected
    assert (r["first_element_address"], r["num_elements"]) == (expected[0], len(expected))


def test_starting_address_in_the_middle_and_number_of_elements(pyscsi):
    r = pyscsi.readelementstatus(MAILSLOTS[2], 5).result
    got = [(p["element_type"], [x["element_address"] for x in p["element_descriptors"]])
           for p in r["element_status_pages"]]
    assert got == [(3, MAILSLOTS[2:]), (4, DRIVES)]
    assert (r["first_element_address"], r["num_elements"]) == (MAILSLOTS[2], 5)
    r = pyscsi.readelementstatus(SLOTS[5], 3, element_type=2).result
    assert [x["element_address"] for x in r["element_status_pages"][0]["element_descriptors"]] == SLOTS[5:8]


def test_starting_address_below_the_first_element_of_the_type(pyscsi):
    r = pyscsi.readelementstatus(2, 2, element_type=2).result     # 2 is no element, below 4096
    assert [x["element_address"] for x in r["element_status_pages"][0]["element_descriptors"]] == SLOTS[:2]
    r = pyscsi.readelementstatus(TRANSPORT, 1, element_type=4).result   # another type's element
    assert r["element_status_pages"][0]["element_descriptors"][0]["element_address"] == DRIVES[0]


@pytest.mark.parametrize("start, code", [(20, 0), (300, 0), (300, 4), (SLOTS[-1] + 1, 0), (SLOTS[-1] + 1, 2),
                                         (DRIVES[-1] + 1, 4)])
def test_starting_address_that_is_no_element(run, start, code):
    expect(run(read_element_status(start, element_type=code)), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_ELEMENT_ADDRESS, cdb_pointer(2))


def test_reserved_element_type_code(run):
    for code in (5, 8, 15):
        expect(run(read_element_status(element_type=code)), SenseKey.ILLEGAL_REQUEST,
               Asc.INVALID_FIELD_IN_CDB, cdb_pointer(1, 3))


def test_number_of_elements_zero_reports_none(run):
    data = bytes(run(read_element_status(count=0)).data)
    assert data == bytes(8)


# -- allocation length ------------------------------------------------------------------------
FULL_REPORT = 8 + (8 + 52) + (8 + 4 * 52) + (8 + 3 * 52) + (8 + 20 * 52)


def test_full_report_size(run):
    data = bytes(run(read_element_status(voltag=True)).data)
    assert len(data) == FULL_REPORT
    assert int.from_bytes(data[5:8], "big") == FULL_REPORT - 8


@pytest.mark.parametrize("allocation, sent", [
    (7, 7),                                  # less than the header: its first bytes (SPC)
    (8, 8),                                  # the header alone: how hosts size the next request
    (8 + 60 + 8 + 51, 8 + 60),               # mailslot page header fits, its first descriptor not
    (8 + 60 + 8 + 2 * 52 + 30, 8 + 60 + 8 + 2 * 52),   # cut after two whole mailslot descriptors
    (FULL_REPORT - 1, FULL_REPORT - 52),     # the last descriptor does not fit whole
    (FULL_REPORT, FULL_REPORT),
])
def test_allocation_length_truncation(run, allocation, sent):
    full = bytes(run(read_element_status(voltag=True)).data)
    data = bytes(run(read_element_status(voltag=True, allocation=allocation)).data)
    assert data == full[:sent]
    if sent >= 8:
        header = parse_report(data)
        # Neither count is adjusted to the allocation length (SMC-3 6.12.2).
        assert (header.number_of_elements, header.byte_count) == (len(ALL), FULL_REPORT - 8)


def test_truncated_report_decoded(pyscsi, run):
    data = bytes(run(read_element_status(voltag=True, allocation=8 + 60 + 8 + 2 * 52 + 30)).data)
    rep = parse_report(data)
    assert [(p.element_type, p.byte_count, len(p.descriptors)) for p in rep.pages] == [(1, 52, 1), (3, 208, 2)]
    # pyscsi decodes its whole data-in buffer, not the bytes transferred (it has no
    # residual), so past a truncated answer it would read the zeros left in its buffer
    # as one more descriptor.  With the allocation length on a descriptor boundary
    # the two agree: it slices pages by their byte counts and stops at the buffer's end.
    r = pyscsi.readelementstatus(0, 0xFFFF, voltag=1, alloclen=8 + 60 + 8 + 2 * 52).result
    assert [len(p["element_descriptors"]) for p in r["element_status_pages"]] == [1, 2]


def test_allocation_length_zero(run):
    r = run(read_element_status(allocation=0))
    assert r.good and len(r.data) == 0


# -- element states ---------------------------------------------------------------------------
def test_exception_access_and_import_bits(run, library):
    library.element(SLOTS[3]).exception = (0x83, 0x09)            # unreadable barcode (vendor)
    library.element(MAILSLOTS[1]).accessible = False               # door open
    library.operator_insert(MAILSLOTS[0], "IMP001L8")
    rep = parse_report(run(read_element_status(voltag=True)).data)
    pages = {p.element_type: p.descriptors for p in rep.pages}
    slot = pages[2][3]
    assert (slot.flags.except_, slot.asc, slot.ascq) == (True, 0x83, 0x09)
    mail = pages[3]
    assert (mail[0].flags.impexp, mail[0].flags.full, mail[0].source.svalid) == (True, True, False)
    assert mail[0].primary_volume_tag.volume_identifier.rstrip() == b"IMP001L8"
    assert not mail[1].flags.access and mail[2].flags.access


def test_not_ready_robot(run, library):
    library.ready = False
    expect(run(read_element_status()), SenseKey.NOT_READY, Asc.NOT_READY_CAUSE_NOT_REPORTABLE)


def test_very_long_serial_is_cut_to_the_one_byte_length(run, library):
    library.element(DRIVES[0]).identifier = "S" * 300
    rep = parse_report(run(read_element_status(DRIVES[0], element_type=4, dvcid=True)).data)
    assert rep.pages[0].descriptor_length == 16 + 255
    assert rep.pages[0].descriptors[0].device_identifier.identifier == b"IBM     ULT3580-TD8     " + b"S" * 231


def test_ten_thousand_slots_are_all_reported():
    """A 10,000-slot library in one report (how fast: benches/changer_element_status.py)."""
    from scsi import LOCAL
    from scsi.smc import Element, Inventory, MediumChanger

    els = [Element(1, ElementType.TRANSPORT)]
    els += [Element(16 + i, ElementType.IMPORT_EXPORT) for i in range(16)]
    els += [Element(256 + i, ElementType.DATA_TRANSFER, identifier=f"{i:010d}", vendor="IBM",
                    product="ULT3580-TD8") for i in range(64)]
    els += [Element(4096 + i, ElementType.STORAGE, barcode=f"B{i:05d}L8" if i < 9000 else None)
            for i in range(10_000)]
    changer = MediumChanger(Inventory(els), serial="BIG", power_on_ua=False)
    r = changer.execute(LOCAL, read_element_status(voltag=True, dvcid=True))
    assert r.good
    rep = parse_report(bytes(r.data))
    assert rep.number_of_elements == 10_081
    assert sum(len(p.descriptors) for p in rep.pages) == 10_081
    storage = next(p for p in rep.pages if p.element_type == ElementType.STORAGE)
    assert storage.descriptors[8999].primary_volume_tag.volume_identifier.rstrip(b" ") == b"B08999L8"
