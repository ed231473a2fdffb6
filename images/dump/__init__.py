"""The BSD dump format as Linux dump 0.4b47 writes and Linux restore reads it:
new-format 1 KiB headers, inode maps, BSD directory records, ext2-form
extended attributes and ACLs.  A writer for the dump engine, a reader for the
restore engine; no policy, no filesystem walking."""
from .constants import DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, ROOTINO, TP_BSIZE
from .errors import DumpFormatError
from .inode import InodeInfo
from .inomap import InodeMap
from .label import DumpLabel
from .reader import DumpReader
from .records import End, Inode, Maps, Record
from .writer import DumpWriter

__all__ = ["DT_BLK", "DT_CHR", "DT_DIR", "DT_FIFO", "DT_LNK", "DT_REG", "DT_SOCK", "DT_UNKNOWN", "ROOTINO",
           "TP_BSIZE", "DumpFormatError", "DumpLabel", "DumpReader", "DumpWriter", "End", "Inode", "InodeInfo",
           "InodeMap", "Maps", "Record"]
