"""CONFIG interface (0x100-0x10A): what the server is and offers, and the extension
negotiation messages CONFIG_GET_EXT_LIST / CONFIG_SET_EXT_LIST."""
from __future__ import annotations

from ..constants import AddrType, AuthType
from ..constants import MessageCode as M
from ..xdr import U_SHORT, UINT32, UINT64, Array, Enum, Struct
from .common import ERROR, NO_BODY, PVALS, STRING, Exchange, error_reply
from .connect import AuthAttr

ConfigGetHostInfoReply = Struct(
    "ndmp_config_get_host_info_reply",
    error=ERROR, hostname=STRING, os_type=STRING, os_vers=STRING, hostid=STRING)

ConfigGetServerInfoReply = Struct(
    "ndmp_config_get_server_info_reply",
    error=ERROR, vendor_name=STRING, product_name=STRING, revision_number=STRING,
    auth_type=Array(Enum(AuthType)))

ConfigGetConnectionTypeReply = Struct(
    "ndmp_config_get_connection_type_reply", error=ERROR, addr_types=Array(Enum(AddrType)))

ConfigGetAuthAttrRequest = Struct("ndmp_config_get_auth_attr_request", auth_type=Enum(AuthType))
ConfigGetAuthAttrReply = Struct("ndmp_config_get_auth_attr_reply", error=ERROR, server_attr=AuthAttr)

ButypeInfo = Struct("ndmp_butype_info", butype_name=STRING, default_env=PVALS, attrs=UINT32)
ConfigGetButypeInfoReply = Struct(
    "ndmp_config_get_butype_info_reply", error=ERROR, butype_info=Array(ButypeInfo))

FsInfo = Struct(
    "ndmp_fs_info",
    unsupported=UINT32, fs_type=STRING, fs_logical_device=STRING, fs_physical_device=STRING,
    total_size=UINT64, used_size=UINT64, avail_size=UINT64, total_inodes=UINT64, used_inodes=UINT64,
    fs_env=PVALS, fs_status=STRING)
ConfigGetFsInfoReply = Struct("ndmp_config_get_fs_info_reply", error=ERROR, fs_info=Array(FsInfo))

DeviceCapability = Struct("ndmp_device_capability", device=STRING, attr=UINT32, capability=PVALS)
DeviceInfo = Struct("ndmp_device_info", model=STRING, caplist=Array(DeviceCapability))
ConfigGetTapeInfoReply = Struct("ndmp_config_get_tape_info_reply", error=ERROR, tape_info=Array(DeviceInfo))
ConfigGetScsiInfoReply = Struct("ndmp_config_get_scsi_info_reply", error=ERROR, scsi_info=Array(DeviceInfo))

# Extensions
ClassList = Struct("ndmp_class_list", ext_class_id=U_SHORT, ext_version=Array(U_SHORT))
ClassVersion = Struct("ndmp_class_version", ext_class_id=U_SHORT, ext_version=U_SHORT)
ConfigGetExtListReply = Struct("ndmp_config_get_ext_list_reply", error=ERROR, class_list=Array(ClassList))
ConfigSetExtListRequest = Struct("ndmp_config_set_ext_list_request", ndmp_selected_ext=Array(ClassVersion))
ConfigSetExtListReply = error_reply("ndmp_config_set_ext_list_reply")

MESSAGES = {
    M.NDMP_CONFIG_GET_HOST_INFO: Exchange(NO_BODY, ConfigGetHostInfoReply),
    M.NDMP_CONFIG_GET_CONNECTION_TYPE: Exchange(NO_BODY, ConfigGetConnectionTypeReply),
    M.NDMP_CONFIG_GET_AUTH_ATTR: Exchange(ConfigGetAuthAttrRequest, ConfigGetAuthAttrReply),
    M.NDMP_CONFIG_GET_BUTYPE_INFO: Exchange(NO_BODY, ConfigGetButypeInfoReply),
    M.NDMP_CONFIG_GET_FS_INFO: Exchange(NO_BODY, ConfigGetFsInfoReply),
    M.NDMP_CONFIG_GET_TAPE_INFO: Exchange(NO_BODY, ConfigGetTapeInfoReply),
    M.NDMP_CONFIG_GET_SCSI_INFO: Exchange(NO_BODY, ConfigGetScsiInfoReply),
    M.NDMP_CONFIG_GET_SERVER_INFO: Exchange(NO_BODY, ConfigGetServerInfoReply),
    M.NDMP_CONFIG_SET_EXT_LIST: Exchange(ConfigSetExtListRequest, ConfigSetExtListReply),
    M.NDMP_CONFIG_GET_EXT_LIST: Exchange(NO_BODY, ConfigGetExtListReply),
}
