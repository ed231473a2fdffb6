"""The vocabulary against the NDMP v4 specification's XDR (values checked by hand)."""
from __future__ import annotations

from enum import IntEnum

import pytest

from ndmp import constants as c
from ndmp.constants import ErrorCode, MessageCode


def test_error_codes_run_from_no_err_to_dandn():
    assert [e.value for e in ErrorCode] == list(range(31))
    assert ErrorCode.NDMP_XDR_DECODE_ERR == 18 and ErrorCode.NDMP_NOT_SUPPORTED_ERR == 1
    assert ErrorCode.NDMP_EXT_DANDN_ILLEGAL_ERR == 30


@pytest.mark.parametrize("name, value", [
    ("NDMP_CONNECT_OPEN", 0x900), ("NDMP_CONFIG_GET_HOST_INFO", 0x100), ("NDMP_CONFIG_SET_EXT_LIST", 0x109),
    ("NDMP_CONFIG_GET_EXT_LIST", 0x10A), ("NDMP_SCSI_EXECUTE_CDB", 0x206), ("NDMP_TAPE_EXECUTE_CDB", 0x307),
    ("NDMP_DATA_START_RECOVER_FILEHIST", 0x40B), ("NDMP_NOTIFY_DATA_READ", 0x505), ("NDMP_LOG_MESSAGE", 0x603),
    ("NDMP_FH_ADD_NODE", 0x705), ("NDMP_MOVER_CONNECT", 0xA09),
])
def test_message_codes(name, value):
    assert MessageCode[name] == value


def test_every_v4_message_is_there():
    assert len(MessageCode) == 55
    assert not any(m.value in (0x203, 0x205) for m in MessageCode)     # v3's SCSI_SET_TARGET, RESET_BUS


def test_enum_values_are_unique_and_spec_named():
    for obj in vars(c).values():
        if isinstance(obj, type) and issubclass(obj, IntEnum):
            assert len({m.value for m in obj}) == len(obj), obj
            assert all(m.name.startswith("NDMP_") for m in obj), obj


def test_a_few_spec_values():
    assert c.TapeOpenMode.NDMP_TAPE_RAW_MODE == 2
    assert c.TapeMtioOp.NDMP_MTIO_TUR == 7
    assert c.AddrType.NDMP_ADDR_IPC == 3
    assert c.MoverPauseReason.NDMP_MOVER_PAUSE_EOW == 5
    assert c.MoverHaltReason.NDMP_MOVER_HALT_MEDIA_ERROR == 5
    assert c.RecoveryStatus.NDMP_RECOVERY_FAILED_FILE_PATH_EXISTS == 7
    assert c.ButypeAttr.NDMP_BUTYPE_RECOVER_FH_DIR == 0x2000
    assert c.TapeStateFlags.NDMP_TAPE_STATE_UNLOAD == 0x40
    assert c.NDMP_MESSAGE_POST == c.MessageType.NDMP_MESSAGE_REQUEST
    assert (c.NDMPVER, c.NDMPPORT) == (4, 10000)
