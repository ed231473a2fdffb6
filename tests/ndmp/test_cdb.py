"""The tape service's CDBs against the SSC-4 tables (6.x READ(6) and WRITE(6)), byte for byte."""
from __future__ import annotations

import ndmp.cdb as C


def test_write6_of_a_variable_record_is_ssc4s_layout():
    # byte 0 opcode 0Ah; byte 1 bit 0 FIXED; bytes 2-4 TRANSFER LENGTH; byte 5 CONTROL
    assert C.write6_variable(262144) == bytes([0x0A, 0x00, 0x04, 0x00, 0x00, 0x00])
    assert C.write6_variable(1) == bytes([0x0A, 0x00, 0x00, 0x00, 0x01, 0x00])
    assert C.write6_variable(0xFFFFFF) == bytes([0x0A, 0x00, 0xFF, 0xFF, 0xFF, 0x00])


def test_read6_of_a_variable_record_asks_to_hear_of_short_records():
    # byte 1: bit 1 SILI (0: a short record is reported with ILI), bit 0 FIXED
    assert C.read6_variable(10240) == bytes([0x08, 0x00, 0x00, 0x28, 0x00, 0x00])


def test_the_cached_builders_agree_with_the_declaration():
    for n in (1, 512, 65536, 262144, 8 * 1024 * 1024 - 1):
        assert C.write6_variable(n) == C.build(C.WRITE_6, flags=dict(fixed=False), transfer_length=n)
        assert C.read6_variable(n) == C.build(C.READ_6, flags=dict(sili=False, fixed=False), transfer_length=n)
