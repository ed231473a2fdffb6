"""The one table of the server: message code -> handler, and the phase it needs.

Read it as the grammar of a session (NDMJOB's ``ndma_comm_dispatch.c`` idea):
which requests are served at all, and which are served before CONNECT_OPEN or
before authentication.  A v4 message that is not in the table belongs to a
service not implemented yet: once authenticated it is answered
NDMP_NOT_SUPPORTED_ERR (before that NDMP_NOT_AUTHORIZED_ERR, like any request
that needs authentication).

A handler takes the session state and the decoded request body and returns
the reply body, ``NO_REPLY`` (CONNECT_CLOSE is not answered), or raises
:class:`HeaderError` to answer with an error in the header and no body.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .answers import NO_REPLY, HeaderError
from .constants import MessageCode as M
from .services import config, connect, data, mover, scsi, tape
from .state import Phase, SessionState

__all__ = ["NO_REPLY", "TABLE", "Handler", "HeaderError", "Route", "route_for"]

Handler = Callable[[SessionState, Any], Any]


@dataclass(frozen=True)
class Route:
    handler: Handler | None          # None: a v4 message whose service is not implemented yet
    phase: Phase                     # the session must have reached this phase


_C, _O, _A = Phase.CONNECTED, Phase.OPEN, Phase.AUTHENTICATED

TABLE: dict[M, Route] = {
    # CONNECT
    M.NDMP_CONNECT_OPEN: Route(connect.open_, _C),
    M.NDMP_CONNECT_CLOSE: Route(connect.close, _C),
    M.NDMP_CONNECT_CLIENT_AUTH: Route(connect.client_auth, _O),
    # CONFIG: every query is answered before authentication (a DMA asks which
    # auth types exist before it authenticates); choosing extensions is not.
    M.NDMP_CONFIG_GET_AUTH_ATTR: Route(config.get_auth_attr, _O),
    M.NDMP_CONFIG_GET_HOST_INFO: Route(config.get_host_info, _O),
    M.NDMP_CONFIG_GET_SERVER_INFO: Route(config.get_server_info, _O),
    M.NDMP_CONFIG_GET_CONNECTION_TYPE: Route(config.get_connection_type, _O),
    M.NDMP_CONFIG_GET_BUTYPE_INFO: Route(config.get_butype_info, _O),
    M.NDMP_CONFIG_GET_FS_INFO: Route(config.get_fs_info, _O),
    M.NDMP_CONFIG_GET_TAPE_INFO: Route(config.get_tape_info, _O),
    M.NDMP_CONFIG_GET_SCSI_INFO: Route(config.get_scsi_info, _O),
    M.NDMP_CONFIG_GET_EXT_LIST: Route(config.get_ext_list, _O),
    M.NDMP_CONFIG_SET_EXT_LIST: Route(config.set_ext_list, _A),
    # SCSI: a DMA's raw CDBs to a medium changer
    M.NDMP_SCSI_OPEN: Route(scsi.open_, _A),
    M.NDMP_SCSI_CLOSE: Route(scsi.close, _A),
    M.NDMP_SCSI_GET_STATE: Route(scsi.get_state, _A),
    M.NDMP_SCSI_RESET_DEVICE: Route(scsi.reset_device, _A),
    M.NDMP_SCSI_EXECUTE_CDB: Route(scsi.execute_cdb, _A),
    # TAPE
    M.NDMP_TAPE_OPEN: Route(tape.open_, _A),
    M.NDMP_TAPE_CLOSE: Route(tape.close, _A),
    M.NDMP_TAPE_GET_STATE: Route(tape.get_state, _A),
    M.NDMP_TAPE_MTIO: Route(tape.mtio, _A),
    M.NDMP_TAPE_WRITE: Route(tape.write, _A),
    M.NDMP_TAPE_READ: Route(tape.read, _A),
    M.NDMP_TAPE_EXECUTE_CDB: Route(tape.execute_cdb, _A),
    # DATA
    M.NDMP_DATA_GET_STATE: Route(data.get_state, _A),
    M.NDMP_DATA_START_BACKUP: Route(data.start_backup, _A),
    M.NDMP_DATA_START_RECOVER: Route(data.start_recover, _A),
    M.NDMP_DATA_ABORT: Route(data.abort, _A),
    M.NDMP_DATA_GET_ENV: Route(data.get_env, _A),
    M.NDMP_DATA_STOP: Route(data.stop, _A),
    M.NDMP_DATA_LISTEN: Route(data.listen, _A),
    M.NDMP_DATA_CONNECT: Route(data.connect, _A),
    M.NDMP_DATA_START_RECOVER_FILEHIST: Route(data.start_recover_filehist, _A),
    # MOVER
    M.NDMP_MOVER_GET_STATE: Route(mover.get_state, _A),
    M.NDMP_MOVER_LISTEN: Route(mover.listen, _A),
    M.NDMP_MOVER_CONNECT: Route(mover.connect, _A),
    M.NDMP_MOVER_CONTINUE: Route(mover.continue_, _A),
    M.NDMP_MOVER_ABORT: Route(mover.abort, _A),
    M.NDMP_MOVER_STOP: Route(mover.stop, _A),
    M.NDMP_MOVER_CLOSE: Route(mover.close, _A),
    M.NDMP_MOVER_SET_WINDOW: Route(mover.set_window, _A),
    M.NDMP_MOVER_READ: Route(mover.read, _A),
    M.NDMP_MOVER_SET_RECORD_SIZE: Route(mover.set_record_size, _A),
}

_NOT_IMPLEMENTED = Route(None, _A)

# Requests that do not end extension negotiation (the CONNECT and CONFIG interfaces).
NEGOTIATION = frozenset(code for code in M if 0x100 <= code < 0x200 or 0x900 <= code < 0xA00)


def route_for(code: int) -> Route:
    """The route of a v4 request code (one the codec decoded)."""
    return TABLE.get(code, _NOT_IMPLEMENTED)      # type: ignore[call-overload]
