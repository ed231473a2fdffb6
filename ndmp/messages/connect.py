"""CONNECT interface: version negotiation and authentication (0x900-0x903)."""
from __future__ import annotations

from ..constants import AuthType
from ..constants import MessageCode as M
from ..xdr import U_SHORT, Enum, FixedOpaque, Struct, Union
from .common import ERROR, NO_BODY, STRING, Exchange, error_reply

ConnectOpenRequest = Struct("ndmp_connect_open_request", protocol_version=U_SHORT)
ConnectOpenReply = error_reply("ndmp_connect_open_reply")

AuthText = Struct("ndmp_auth_text", auth_id=STRING, auth_password=STRING)
AuthMd5 = Struct("ndmp_auth_md5", auth_id=STRING, auth_digest=FixedOpaque(16))
AuthData = Union("ndmp_auth_data", ("auth_type", Enum(AuthType)), {
    AuthType.NDMP_AUTH_NONE: None,
    AuthType.NDMP_AUTH_TEXT: ("auth_text", AuthText),
    AuthType.NDMP_AUTH_MD5: ("auth_md5", AuthMd5),
})
AuthAttr = Union("ndmp_auth_attr", ("auth_type", Enum(AuthType)), {
    AuthType.NDMP_AUTH_NONE: None,
    AuthType.NDMP_AUTH_TEXT: None,
    AuthType.NDMP_AUTH_MD5: ("challenge", FixedOpaque(64)),
})

ConnectClientAuthRequest = Struct("ndmp_connect_client_auth_request", auth_data=AuthData)
ConnectClientAuthReply = error_reply("ndmp_connect_client_auth_reply")
ConnectServerAuthRequest = Struct("ndmp_connect_server_auth_request", client_attr=AuthAttr)
ConnectServerAuthReply = Struct("ndmp_connect_server_auth_reply", error=ERROR, server_result=AuthData)

MESSAGES = {
    M.NDMP_CONNECT_OPEN: Exchange(ConnectOpenRequest, ConnectOpenReply),
    M.NDMP_CONNECT_CLIENT_AUTH: Exchange(ConnectClientAuthRequest, ConnectClientAuthReply),
    # The spec sends no reply to CONNECT_CLOSE; NDMJOB declares an empty one, so one decodes.
    M.NDMP_CONNECT_CLOSE: Exchange(NO_BODY, NO_BODY),
    M.NDMP_CONNECT_SERVER_AUTH: Exchange(ConnectServerAuthRequest, ConnectServerAuthReply),
}
