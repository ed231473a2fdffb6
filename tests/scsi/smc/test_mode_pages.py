"""The changer's mode pages.  python-scsi decodes the Element Address Assignment
page (1Dh); it has no decoder for 1Eh and 1Fh (it decodes only the first page of
any answer, and only pages it knows), so those are read at the byte offsets of
SMC-3's tables."""
from __future__ import annotations

from scsi.sense import Asc, SenseKey

from .conftest import DRIVES, MAILSLOTS, SLOTS, TRANSPORT, cdb_pointer, expect, mode_sense6


def pages_of(data: bytes) -> dict[int, bytes]:
    out, offset = {}, 4 + data[3]
    while offset < data[0] + 1:
        out[data[offset] & 0x3F] = data[offset:offset + 2 + data[offset + 1]]
        offset += 2 + data[offset + 1]
    return out


def test_element_address_assignment_by_pyscsi(pyscsi):
    page = pyscsi.modesense6(0x1D).result["mode_pages"][0]
    assert page["page_code"] == 0x1D
    assert (page["first_medium_transport_element_address"], page["num_medium_transport_elements"]) == (TRANSPORT, 1)
    assert (page["first_storage_element_address"], page["num_storage_elements"]) == (SLOTS[0], len(SLOTS))
    assert (page["first_import_element_address"], page["num_import_elements"]) == (MAILSLOTS[0], len(MAILSLOTS))
    assert (page["first_data_transfer_element_address"], page["num_data_transfer_elements"]) == (
        DRIVES[0], len(DRIVES))
    page10 = pyscsi.modesense10(0x1D, alloclen=64).result["mode_pages"][0]
    assert page10["num_storage_elements"] == len(SLOTS)


def test_transport_geometry(run):
    page = pages_of(bytes(run(mode_sense6(0x1E)).data))[0x1E]
    assert page == bytes([0x1E, 0x02, 0x00, 0x00])        # ROTATE=0, member 0


def test_device_capabilities(run):
    page = pages_of(bytes(run(mode_sense6(0x1F)).data))[0x1F]
    assert page[:2] == bytes([0x1F, 0x12]) and len(page) == 20
    assert page[2] == 0b1110                               # STORDT, STORI/E, STORST; not STORMT
    assert list(page[4:8]) == [0b0000, 0b1110, 0b1110, 0b1110]     # MT->, ST->, I/E->, DT->
    assert list(page[12:16]) == [0b0000, 0b1110, 0b1110, 0b1110]   # exchanges alike
    assert page[3] == 0 and page[8:12] == bytes(4) and page[16:20] == bytes(4)


def test_all_pages_in_order_without_block_descriptor(run):
    data = bytes(run(bytes([0x1A, 0, 0x3F, 0, 255, 0])).data)
    assert data[1:4] == bytes(3)                               # medium type, DSP, no block descriptor
    assert list(pages_of(data)) == [0x0A, 0x1C, 0x1D, 0x1E, 0x1F]


def test_changeable_values_are_zero(run):
    pages = pages_of(bytes(run(mode_sense6(0x3F, pc=1)).data))
    for code in (0x1D, 0x1E, 0x1F):
        assert pages[code][2:] == bytes(len(pages[code]) - 2)
    assert pages[0x0A][2] == 0x04                              # D_SENSE only


def test_default_values_are_the_library(run):
    assert pages_of(bytes(run(mode_sense6(0x1D, pc=2)).data)) == pages_of(bytes(run(mode_sense6(0x1D)).data))


def test_mode_select_accepts_an_unchanged_page_and_refuses_a_change(run):
    page = pages_of(bytes(run(mode_sense6(0x1D)).data))[0x1D]
    select = bytes([0x15, 0x10, 0, 0, 4 + len(page), 0])
    assert run(select, bytes(4) + page).good
    changed = bytearray(page)
    changed[9] += 1                                       # NUMBER OF STORAGE ELEMENTS, low byte
    r = run(select, bytes(4) + bytes(changed))
    expect(r, SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_PARAMETER_LIST)
    assert r.decoded_sense().specific.byte == 4 + 8


def test_d_sense_through_the_control_page(run, changer):
    page = bytearray(pages_of(bytes(run(mode_sense6(0x0A)).data))[0x0A])
    page[2] |= 0x04
    assert run(bytes([0x15, 0x10, 0, 0, 4 + len(page), 0]), bytes(4) + bytes(page)).good
    assert changer.descriptor_sense


def test_unknown_page(run):
    expect(run(mode_sense6(0x10)), SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB, cdb_pointer(2, 5))
