"""Numbers of the BSD dump format as Linux dump 0.4b47 writes it.

Sources: ``compat/include/protocols/dumprestore.h`` and ``dump/traverse.c`` of
Linux dump, the ext2 headers for the extended-attribute block, and images made
here with ``dump`` itself (see ``tests/images/dump``).
"""

TP_BSIZE = 1024            # every header and data block on tape is 1 KiB
TP_NINDIR = TP_BSIZE // 2  # c_addr entries in one header: 512 blocks of data
NTREC = 10                 # Linux dump's default blocks per tape record
LBLSIZE = 16
NAMELEN = 64
NDADDR = 12
NIADDR = 3

OFS_MAGIC = 60011          # old (4.3BSD) format; we neither write nor read it
NFS_MAGIC = 60012          # new format: 32-bit inode numbers, 64-bit sizes
CHECKSUM = 84446           # the 256 little-endian int32 of a header sum to this

ROOTINO = 2
WINO = 1                   # BSD whiteout inode; never dumped by Linux dump

# c_type
TS_TAPE = 1
TS_INODE = 2
TS_BITS = 3
TS_ADDR = 4
TS_END = 5
TS_CLRI = 6
HEADER_TYPES = frozenset({TS_TAPE, TS_INODE, TS_BITS, TS_ADDR, TS_END, TS_CLRI})

# c_flags
DR_NEWHEADER = 0x0001      # only on the TS_TAPE header (Linux dump clears it afterwards)
DR_NEWINODEFMT = 0x0002    # uid/gid are the 32-bit di_uid/di_gid, not di_ouid/di_ogid
DR_COMPRESSED = 0x0080
DR_METAONLY = 0x0100
DR_EXTATTRIBUTES = 0x8000  # this TS_INODE header carries an inode's extension, not the inode

# c_extattributes
EXT_REGULAR = 0
EXT_MACOSFNDRINFO = 1
EXT_MACOSRESFORK = 2
EXT_XATTR = 3

# Directory records are converted to BSD ``struct direct`` in chunks of
# DIRBLKSIZ bytes (Linux dump's MIN(DIRBLKSIZ, TP_BSIZE) with DIRBLKSIZ ==
# DEV_BSIZE == 512, as measured on its images); no record crosses a chunk.
DIRBLKSIZ = 512
MAXNAMLEN = 255

# d_type
DT_UNKNOWN = 0
DT_FIFO = 1
DT_CHR = 2
DT_DIR = 4
DT_BLK = 6
DT_REG = 8
DT_LNK = 10
DT_SOCK = 12
DT_WHT = 14

# ext2/ext4 extended attributes as dump copies them onto tape
EXT2_XATTR_MAGIC = 0xEA020000    # an attribute block: entries after a 32-byte header
EXT2_XATTR_MAGIC2 = 0xEA020001   # the in-inode area: entries after the 4-byte magic
EXT2_XATTR_INDEX_USER = 1
EXT2_XATTR_INDEX_POSIX_ACL_ACCESS = 2
EXT2_XATTR_INDEX_POSIX_ACL_DEFAULT = 3
EXT2_XATTR_INDEX_TRUSTED = 4
EXT2_XATTR_INDEX_LUSTRE = 5
EXT2_XATTR_INDEX_SECURITY = 6

# POSIX ACLs: tags, and the two encodings (ext2/ext3/ext4 on disk; the kernel's xattr API)
ACL_USER_OBJ = 0x01
ACL_USER = 0x02
ACL_GROUP_OBJ = 0x04
ACL_GROUP = 0x08
ACL_MASK = 0x10
ACL_OTHER = 0x20
ACL_UNDEFINED_ID = 0xFFFFFFFF
EXT2_ACL_VERSION = 1
POSIX_ACL_XATTR_VERSION = 2
XATTR_NAME_ACL_ACCESS = b"system.posix_acl_access"
XATTR_NAME_ACL_DEFAULT = b"system.posix_acl_default"

# Caps the reader applies to sizes taken from a (possibly hostile) image.
MAX_DIRECTORY_SIZE = 64 << 20
MAX_XATTR_BLOCK = 64 << 10
MAX_SYMLINK_SIZE = 64 << 10
MAX_MAP_SIZE = 64 << 20
