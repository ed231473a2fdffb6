"""CONFIG answers, read back from the wire, for the backend in ndmp_dma."""
from __future__ import annotations

import pytest
from ndmp_dma import Dma

from ndmp.auth import AuthPolicy
from ndmp.backend import Backend, StaticBackend
from ndmp.butypes import BUTYPES
from ndmp.constants import AddrType, AuthType, ButypeAttr, ErrorCode, TapeAttr
from ndmp.constants import MessageCode as M
from ndmp.dispatch import NEGOTIATION
from ndmp.messages import config as cf
from ndmp.session import Session

OK = ErrorCode.NDMP_NO_ERR


@pytest.fixture
def dma():
    d = Dma()
    d.login()
    return d


def test_host_info(dma):
    b = dma.call(M.NDMP_CONFIG_GET_HOST_INFO).body
    assert (b.error, b.hostname, b.os_type, b.os_vers, b.hostid) == (OK, "vtl1", "Linux", "6.1.0-28-amd64", "7f0101ab")


def test_server_info(dma):
    b = dma.call(M.NDMP_CONFIG_GET_SERVER_INFO).body
    assert (b.error, b.vendor_name) == (OK, "vtl")
    assert b.product_name and b.revision_number
    assert b.auth_type == [AuthType.NDMP_AUTH_TEXT, AuthType.NDMP_AUTH_MD5]


def test_server_info_follows_the_policy():
    d = Dma(policy=AuthPolicy(text=False))
    d.open()
    assert d.call(M.NDMP_CONFIG_GET_SERVER_INFO).body.auth_type == [AuthType.NDMP_AUTH_MD5]


def test_connection_types(dma):
    b = dma.call(M.NDMP_CONFIG_GET_CONNECTION_TYPE).body
    assert b.addr_types == [AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP]


def auth_attr(d: Dma, kind: int):
    return d.call(M.NDMP_CONFIG_GET_AUTH_ATTR, cf.ConfigGetAuthAttrRequest(auth_type=kind)).body


def test_auth_attr(dma):
    text = auth_attr(dma, AuthType.NDMP_AUTH_TEXT)
    assert (text.error, text.server_attr.auth_type, text.server_attr.challenge) == (OK, AuthType.NDMP_AUTH_TEXT, None)
    first, second = auth_attr(dma, AuthType.NDMP_AUTH_MD5), auth_attr(dma, AuthType.NDMP_AUTH_MD5)
    assert first.server_attr.auth_type == AuthType.NDMP_AUTH_MD5 and len(first.server_attr.challenge) == 64
    assert first.server_attr.challenge != second.server_attr.challenge
    for kind in (AuthType.NDMP_AUTH_NONE, 7):
        bad = auth_attr(dma, kind)
        assert (bad.error, bad.server_attr.auth_type) == (ErrorCode.NDMP_ILLEGAL_ARGS_ERR, AuthType.NDMP_AUTH_NONE)


def test_auth_attr_of_a_disabled_method():
    d = Dma(policy=AuthPolicy(md5=False))
    d.open()
    assert auth_attr(d, AuthType.NDMP_AUTH_MD5).error == ErrorCode.NDMP_ILLEGAL_ARGS_ERR
    assert auth_attr(d, AuthType.NDMP_AUTH_TEXT).error == OK


def test_butype_info(dma):
    infos = {b.butype_name: b for b in dma.call(M.NDMP_CONFIG_GET_BUTYPE_INFO).body.butype_info}
    assert list(infos) == ["dump", "smtape"]
    dump = {p.name: p.value for p in infos["dump"].default_env}
    assert dump["TYPE"] == "dump" and dump["HIST"] == "N" and dump["UPDATE"] == "Y" and dump["LEVEL"] == "0"
    assert dump["BASE_DATE"] == "-1" and dump["EXTRACT_ACL"] == "Y" and dump["RECURSIVE"] == "Y"
    assert "FILESYSTEM" not in dump and "DUMP_DATE" not in dump        # no default / returned by the server
    assert infos["dump"].attrs & ButypeAttr.NDMP_BUTYPE_BACKUP_INCREMENTAL
    smtape = {p.name: p.value for p in infos["smtape"].default_env}
    assert smtape["TYPE"] == "smtape" and smtape["SMTAPE_BREAK_MIRROR"] == "N"
    assert not infos["smtape"].attrs & (ButypeAttr.NDMP_BUTYPE_BACKUP_FH_DIR | ButypeAttr.NDMP_BUTYPE_BACKUP_FH_FILE)
    assert len(BUTYPES) == 2


def test_fs_info(dma):
    vol1, vol2 = dma.call(M.NDMP_CONFIG_GET_FS_INFO).body.fs_info
    assert (vol1.fs_logical_device, vol1.fs_type, vol1.fs_physical_device, vol1.total_size, vol1.avail_size) == \
        ("/vtl1/vol1", "ext4", "/dev/vda1", 10 << 30, 6 << 30)
    assert vol1.unsupported == 0x18            # inode counts unknown
    assert vol2.unsupported == 0x1F and vol2.total_size == 0 and vol2.fs_status == "online"


def test_tape_info(dma):
    drives = dma.call(M.NDMP_CONFIG_GET_TAPE_INFO).body.tape_info
    assert [d.model for d in drives] == ["IBM ULT3580-TD6", "HP Ultrium 5-SCSI"]
    caps = {c.device: c for c in drives[0].caplist}
    assert len(caps) == 12 and {"rst0l", "nrst0a", "urst0h"} <= set(caps)
    assert caps["rst0a"].attr == TapeAttr.NDMP_TAPE_ATTR_REWIND | TapeAttr.NDMP_TAPE_ATTR_RAW
    assert caps["nrst0a"].attr == TapeAttr.NDMP_TAPE_ATTR_RAW
    assert caps["urst0a"].attr == TapeAttr.NDMP_TAPE_ATTR_UNLOAD | TapeAttr.NDMP_TAPE_ATTR_RAW
    assert [(p.name, p.value) for p in caps["nrst0a"].capability] == [("SERIAL_NUMBER", "1068000001")]
    assert {c.device for c in drives[1].caplist} >= {"nrst1a"} and drives[1].caplist[0].capability == []


def test_scsi_info(dma):
    [mc] = dma.call(M.NDMP_CONFIG_GET_SCSI_INFO).body.scsi_info
    assert mc.model == "VTL Virtual Changer" and [c.device for c in mc.caplist] == ["mc0"]


def test_empty_backend():
    from ndmp_dma import context
    ctx = context()
    ctx.backend = StaticBackend(ctx.backend.host_info())
    assert isinstance(ctx.backend, Backend)
    d = Dma(Session(ctx))
    d.login()
    for code, field in ((M.NDMP_CONFIG_GET_FS_INFO, "fs_info"), (M.NDMP_CONFIG_GET_TAPE_INFO, "tape_info"),
                        (M.NDMP_CONFIG_GET_SCSI_INFO, "scsi_info")):
        body = d.call(code).body
        assert (body.error, getattr(body, field)) == (OK, [])


def set_ext(d: Dma, *selected: tuple[int, int]):
    return d.call(M.NDMP_CONFIG_SET_EXT_LIST, cf.ConfigSetExtListRequest(ndmp_selected_ext=[
        cf.ClassVersion(ext_class_id=c, ext_version=v) for c, v in selected])).body.error


def test_extensions(dma):
    assert dma.call(M.NDMP_CONFIG_GET_EXT_LIST).body.class_list == []
    assert set_ext(dma, (0x2050, 1)) == ErrorCode.NDMP_CLASS_NOT_SUPPORTED_ERR
    assert set_ext(dma, (0x2050, 1), (0x2050, 1)) == ErrorCode.NDMP_EXT_DUPL_CLASSES_ERR
    assert set_ext(dma) == OK
    assert set_ext(dma) == ErrorCode.NDMP_EXT_DANDN_ILLEGAL_ERR         # negotiation is over


def test_connect_and_config_requests_keep_negotiation_open():
    d = Dma()
    d.login()
    for code in (M.NDMP_CONFIG_GET_HOST_INFO, M.NDMP_CONFIG_GET_TAPE_INFO, M.NDMP_CONFIG_GET_EXT_LIST):
        d.call(code)
    d.open()
    assert set_ext(d) == OK
    # Any other interface's request ends it (none is served yet: the table says which).
    assert M.NDMP_TAPE_OPEN not in NEGOTIATION and M.NDMP_CONFIG_SET_EXT_LIST in NEGOTIATION
