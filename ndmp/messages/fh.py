"""FILE HISTORY interface (0x703-0x705): posts that tell the DMA what a backup contains."""
from __future__ import annotations

from ..constants import FileType, FsType
from ..constants import MessageCode as M
from ..xdr import UINT32, UINT64, Array, Enum, Struct, Union
from .common import PATH, post

NtPath = Struct("ndmp_nt_path", nt_path=PATH, dos_path=PATH)
FileName = Union("ndmp_file_name", ("fs_type", Enum(FsType)), {
    FsType.NDMP_FS_UNIX: ("unix_name", PATH),
    FsType.NDMP_FS_NT: ("nt_name", NtPath),
}, default=("other_name", PATH))

FileStat = Struct(
    "ndmp_file_stat",
    unsupported=UINT32, fs_type=Enum(FsType), ftype=Enum(FileType), mtime=UINT32, atime=UINT32,
    ctime=UINT32, owner=UINT32, group=UINT32, fattr=UINT32, size=UINT64, links=UINT32)

File = Struct("ndmp_file", name=Array(FileName), stat=Array(FileStat), node=UINT64, fh_info=UINT64)
FhAddFilePost = Struct("ndmp_fh_add_file_post", files=Array(File))
Dir = Struct("ndmp_dir", name=Array(FileName), node=UINT64, parent=UINT64)
FhAddDirPost = Struct("ndmp_fh_add_dir_post", dirs=Array(Dir))
Node = Struct("ndmp_node", stats=Array(FileStat), node=UINT64, fh_info=UINT64)
FhAddNodePost = Struct("ndmp_fh_add_node_post", nodes=Array(Node))

MESSAGES = {
    M.NDMP_FH_ADD_FILE: post(FhAddFilePost),
    M.NDMP_FH_ADD_DIR: post(FhAddDirPost),
    M.NDMP_FH_ADD_NODE: post(FhAddNodePost),
}
