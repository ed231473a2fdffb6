"""CONFIG interface: what this server is and offers, answered from the caller's Backend.

Every query is read from the backend when it is asked, so a drive added to a
library appears in the next GET_TAPE_INFO.  Extensions: none are offered (ONTAP's
0x2050 class, restartable dump backups and snapshot management, is not built); a
DMA may still select the empty set, which is what a DMA that found nothing it
wants sends.
"""
from __future__ import annotations

from typing import Any

from ..butypes import BUTYPES
from ..constants import AddrType, AuthType, ErrorCode
from ..constants import FsInfoUnsupported as U
from ..messages import config as cf
from ..messages.common import Pval
from ..messages.connect import AuthAttr
from ..state import SessionState

_OK = ErrorCode.NDMP_NO_ERR

# Data connections this server makes: in-process (LOCAL) and TCP (three-way).
CONNECTION_TYPES = (AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP)

# Extension classes offered by CONFIG_GET_EXT_LIST: (class id, versions).  None yet.
EXTENSIONS: tuple[tuple[int, tuple[int, ...]], ...] = ()


def _pvals(pairs: Any) -> list:
    return [Pval(name=name, value=value) for name, value in pairs]


def get_host_info(state: SessionState, body: Any) -> Any:
    h = state.context.backend.host_info()
    return cf.ConfigGetHostInfoReply(error=_OK, hostname=h.hostname, os_type=h.os_type, os_vers=h.os_vers,
                                     hostid=h.hostid)


def get_server_info(state: SessionState, body: Any) -> Any:
    ident = state.context.identity
    return cf.ConfigGetServerInfoReply(error=_OK, vendor_name=ident.vendor, product_name=ident.product,
                                       revision_number=ident.revision, auth_type=state.login.policy.enabled)


def get_connection_type(state: SessionState, body: Any) -> Any:
    return cf.ConfigGetConnectionTypeReply(error=_OK, addr_types=list(CONNECTION_TYPES))


def get_auth_attr(state: SessionState, body: Any) -> Any:
    """TEXT: nothing to say; MD5: a fresh challenge (the one the next MD5 CLIENT_AUTH must
    answer).  A method that is off, NONE, or unknown: NDMP_ILLEGAL_ARGS_ERR."""
    kind = body.auth_type
    if kind in (AuthType.NDMP_AUTH_TEXT, AuthType.NDMP_AUTH_MD5) and state.login.policy.allows(kind):
        challenge = state.login.challenge() if kind == AuthType.NDMP_AUTH_MD5 else None
        return cf.ConfigGetAuthAttrReply(error=_OK, server_attr=AuthAttr(auth_type=kind, challenge=challenge))
    return cf.ConfigGetAuthAttrReply(error=ErrorCode.NDMP_ILLEGAL_ARGS_ERR,
                                     server_attr=AuthAttr(auth_type=AuthType.NDMP_AUTH_NONE))


def get_butype_info(state: SessionState, body: Any) -> Any:
    return cf.ConfigGetButypeInfoReply(error=_OK, butype_info=[
        cf.ButypeInfo(butype_name=b.name, default_env=_pvals(b.default_env), attrs=b.attrs) for b in BUTYPES])


def _counter(value: int | None, flag: U) -> tuple[int, int]:
    return (0, int(flag)) if value is None else (value, 0)


def get_fs_info(state: SessionState, body: Any) -> Any:
    infos = []
    for v in state.context.backend.volumes():
        unsupported = 0
        values = {}
        for name, flag in (("total_size", U.NDMP_FS_INFO_TOTAL_SIZE_UNS), ("used_size", U.NDMP_FS_INFO_USED_SIZE_UNS),
                           ("avail_size", U.NDMP_FS_INFO_AVAIL_SIZE_UNS),
                           ("total_inodes", U.NDMP_FS_INFO_TOTAL_INODES_UNS),
                           ("used_inodes", U.NDMP_FS_INFO_USED_INODES_UNS)):
            values[name], missing = _counter(getattr(v, name), flag)
            unsupported |= missing
        infos.append(cf.FsInfo(unsupported=unsupported, fs_type=v.fs_type, fs_logical_device=v.name,
                               fs_physical_device=v.physical_device, fs_env=_pvals(v.env), fs_status=v.status,
                               **values))
    return cf.ConfigGetFsInfoReply(error=_OK, fs_info=infos)


def _device_infos(devices: Any) -> list:
    return [cf.DeviceInfo(model=d.model, caplist=[
        cf.DeviceCapability(device=e.name, attr=e.attr, capability=_pvals(e.capability)) for e in d.entries])
        for d in devices]


def get_tape_info(state: SessionState, body: Any) -> Any:
    return cf.ConfigGetTapeInfoReply(error=_OK, tape_info=_device_infos(state.context.backend.tape_drives()))


def get_scsi_info(state: SessionState, body: Any) -> Any:
    return cf.ConfigGetScsiInfoReply(error=_OK, scsi_info=_device_infos(state.context.backend.changers()))


def get_ext_list(state: SessionState, body: Any) -> Any:
    return cf.ConfigGetExtListReply(error=_OK, class_list=[
        cf.ClassList(ext_class_id=cid, ext_version=list(versions)) for cid, versions in EXTENSIONS])


def set_ext_list(state: SessionState, body: Any) -> Any:
    """Select extensions, once, before any request outside CONNECT and CONFIG.

    Errors (the extension spec's): negotiation over -> NDMP_EXT_DANDN_ILLEGAL_ERR; a
    class twice -> NDMP_EXT_DUPL_CLASSES_ERR; a class not offered ->
    NDMP_CLASS_NOT_SUPPORTED_ERR; a version of it not offered ->
    NDMP_VERSION_NOT_SUPPORTED_ERR."""
    reply = cf.ConfigSetExtListReply
    if state.extensions_settled:
        return reply(error=ErrorCode.NDMP_EXT_DANDN_ILLEGAL_ERR)
    chosen = [(c.ext_class_id, c.ext_version) for c in body.ndmp_selected_ext]
    ids = [cid for cid, _ in chosen]
    if len(set(ids)) != len(ids):
        return reply(error=ErrorCode.NDMP_EXT_DUPL_CLASSES_ERR)
    offered = dict(EXTENSIONS)
    for cid, version in chosen:
        if cid not in offered:
            return reply(error=ErrorCode.NDMP_CLASS_NOT_SUPPORTED_ERR)
        if version not in offered[cid]:
            return reply(error=ErrorCode.NDMP_VERSION_NOT_SUPPORTED_ERR)
    state.selected_extensions = chosen
    state.extensions_settled = True
    return reply(error=_OK)
