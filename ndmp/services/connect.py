"""CONNECT interface: version negotiation, client authentication, close.

Errors go in the reply body (the request was understood and refused):
CONNECT_OPEN of a version other than 4 -> NDMP_ILLEGAL_ARGS_ERR, logged with
the seed's message "ndmpd invalid version number: N"; once a version is agreed
it cannot change (NDMJOB: "too late to change version").  CONNECT_CLIENT_AUTH
failures -> NDMP_NOT_AUTHORIZED_ERR; a disabled or NONE method ->
NDMP_NOT_SUPPORTED_ERR; a second authentication on an authenticated session ->
NDMP_ILLEGAL_STATE_ERR (the session keeps its user).
"""
from __future__ import annotations

import logging
from typing import Any

from ..answers import NO_REPLY
from ..auth import AuthFailed
from ..constants import NDMPVER, AuthType, ErrorCode
from ..events import Authenticated, AuthenticationFailed, Opened, VersionRefused
from ..messages.connect import ConnectClientAuthReply, ConnectOpenReply
from ..state import Phase, SessionState

log = logging.getLogger("ndmp.session")

_OK = ErrorCode.NDMP_NO_ERR


def open_(state: SessionState, body: Any) -> Any:
    version = body.protocol_version
    if state.phase >= Phase.OPEN:
        if version == state.protocol_version:
            return ConnectOpenReply(error=_OK)
        log.warning("ndmpd invalid version number: %d (session %d already uses version %d)",
                    version, state.session_id, state.protocol_version)
        return ConnectOpenReply(error=ErrorCode.NDMP_ILLEGAL_ARGS_ERR)
    if version != NDMPVER:
        log.warning("ndmpd invalid version number: %d", version)
        state.events.append(VersionRefused(version))
        return ConnectOpenReply(error=ErrorCode.NDMP_ILLEGAL_ARGS_ERR)
    state.phase = Phase.OPEN
    state.protocol_version = version
    state.events.append(Opened(version))
    return ConnectOpenReply(error=_OK)


def client_auth(state: SessionState, body: Any) -> Any:
    data = body.auth_data
    if data.auth_type == AuthType.NDMP_AUTH_TEXT:
        method, auth_id = "text", data.auth_text.auth_id
    elif data.auth_type == AuthType.NDMP_AUTH_MD5:
        method, auth_id = "md5", data.auth_md5.auth_id
    else:
        return ConnectClientAuthReply(error=ErrorCode.NDMP_NOT_SUPPORTED_ERR)
    if state.phase >= Phase.AUTHENTICATED:
        return ConnectClientAuthReply(error=ErrorCode.NDMP_ILLEGAL_STATE_ERR)
    try:
        if method == "text":
            user = state.login.text(auth_id, data.auth_text.auth_password)
        else:
            user = state.login.md5(auth_id, data.auth_md5.auth_digest)
    except AuthFailed as e:
        state.events.append(AuthenticationFailed(auth_id, method, e.reason))
        return ConnectClientAuthReply(error=e.error)
    state.phase = Phase.AUTHENTICATED
    state.user = user
    state.auth_type = AuthType(data.auth_type)
    state.events.append(Authenticated(user.name, user.role.value, method))
    return ConnectClientAuthReply(error=_OK)


def close(state: SessionState, body: Any) -> Any:
    state.close("the DMA sent CONNECT_CLOSE")
    return NO_REPLY
