"""A tiny initramfs that mounts the host's root filesystem in the guest.

Contents: busybox-static, the kernel modules the guest needs before it can see
the root filesystem (virtio PCI, 9p over virtio, overlayfs and their
dependencies, resolved with ``modules.dep``), ``/dev/console`` and ``/init``.

``/init`` mounts the host's ``/`` (9p tag ``hostroot``, read-only) under a tmpfs
overlay, mounts the read-write 9p share ``results`` at ``/vtl-results``, binds
the cached modules to ``/lib/modules/<kver>`` (so a plain ``modprobe`` works),
and switch_roots into ``/vtl-results/.vtl/guest_init.sh``.

The archive is an uncompressed newc cpio (no decompression under TCG), built
in Python and cached by the hash of its contents next to the kernel.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from .kernel import Kernel, locked

# What the guest needs before it can mount its root: PCI virtio transport,
# 9p over virtio, overlayfs.  Dependencies (netfs, fscache, virtio_ring, ...)
# come from modules.dep, so whatever the kernel version needs is included.
EARLY_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox", "/sbin/busybox")
GUEST_RESULTS = "/vtl-results"
GUEST_INIT = f"{GUEST_RESULTS}/.vtl/guest_init.sh"
P9_OPTS = "trans=virtio,version=9p2000.L,msize=512000"

INIT = f"""\
#!/bin/busybox sh
# initramfs /init: host root (9p, read-only) under a tmpfs overlay, then switch_root
fail() {{ echo "vtl-initramfs: $*" >/dev/console; /bin/busybox poweroff -f; }}
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mount -t proc proc /proc
while read -r m; do
  /bin/busybox insmod "/modules/$m" || fail "insmod $m failed"
done < /modules/order
/bin/busybox mount -t 9p -o ro,{P9_OPTS},cache=loose hostroot /hostroot \\
  || fail "cannot mount the 9p share hostroot"
/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /overlay
/bin/busybox mkdir /overlay/upper /overlay/work
/bin/busybox mount -t overlay -o lowerdir=/hostroot,upperdir=/overlay/upper,workdir=/overlay/work \\
  overlay /newroot || fail "cannot mount the overlay"
/bin/busybox mkdir -p /newroot{GUEST_RESULTS}
/bin/busybox mount -t 9p -o {P9_OPTS} results /newroot{GUEST_RESULTS} \\
  || fail "cannot mount the 9p share results"
# vtl_modules and vtl_kver come from the kernel command line
/bin/busybox mkdir -p "/newroot/lib/modules/$vtl_kver"
/bin/busybox mount --bind "/newroot$vtl_modules" "/newroot/lib/modules/$vtl_kver" \\
  || fail "cannot bind $vtl_modules"
/bin/busybox umount /proc
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /bin/sh {GUEST_INIT}
"""


def find_busybox() -> Path | None:
    """A statically linked busybox (busybox-static), or None."""
    for cand in BUSYBOX_CANDIDATES:
        p = Path(cand)
        if p.is_file():
            head = p.read_bytes()[:1 << 16]
            # a dynamic executable carries an interpreter path (PT_INTERP)
            if b"/lib64/ld-linux" not in head and b"/lib/ld-linux" not in head:
                return p.resolve()
    return None


def module_closure(modules_dir: Path, names: tuple[str, ...]) -> list[str]:
    """Paths (relative to modules_dir) of ``names`` and their dependencies,
    dependencies first; built-in modules are left out."""
    def norm(path: str) -> str:
        base = os.path.basename(path)
        for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
            base = base.removesuffix(ext)
        return base.replace("-", "_")

    deps: dict[str, tuple[str, list[str]]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[norm(path)] = (path, rest.split())
    builtin = set()
    if (modules_dir / "modules.builtin").is_file():
        builtin = {norm(p) for p in (modules_dir / "modules.builtin").read_text().split()}

    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in deps:
            if name in builtin:
                return
            raise FileNotFoundError(f"module {name} not in {modules_dir}/modules.dep")
        path, requires = deps[name]
        for dep in requires:
            visit(norm(dep))
        order.append(path)

    for n in names:
        visit(n)
    return order


class _Cpio:
    """Writer for the newc cpio format the kernel unpacks."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        body = hdr + name.encode() + b"\0"
        body += b"\0" * (-len(body) % 4)
        body += data + b"\0" * (-len(data) % 4)
        self.parts.append(body)

    def dir(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        out = b"".join(self.parts)
        return out + b"\0" * (-len(out) % 512)


def build_initramfs(kernel: Kernel, busybox: Path | None = None) -> Path:
    """Build (once per content hash) the initramfs for ``kernel``; return its path."""
    busybox = busybox or find_busybox()
    if busybox is None:
        raise FileNotFoundError("no static busybox found (apt-get install busybox-static)")
    mods = module_closure(kernel.modules_dir, EARLY_MODULES)

    files: list[tuple[str, bytes, int]] = [
        ("bin/busybox", busybox.read_bytes(), 0o755),
        ("init", INIT.encode(), 0o755),
        ("modules/order", "".join(os.path.basename(m) + "\n" for m in mods).encode(), 0o644),
    ]
    files += [("modules/" + os.path.basename(m), (kernel.modules_dir / m).read_bytes(), 0o644)
              for m in mods]
    digest = hashlib.sha256()
    for name, data, mode in files:
        digest.update(f"{name}\0{mode}\0{len(data)}\0".encode())
        digest.update(data)
    out = kernel.root.parent / f"initramfs-{digest.hexdigest()[:16]}.cpio"
    if out.is_file():
        return out

    cpio = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "modules", "hostroot", "overlay", "newroot"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/null", 1, 3)
    for name, data, mode in files:
        cpio.file(name, data, mode)
    cpio.symlink("bin/sh", "busybox")
    with locked(out.parent):
        if not out.is_file():
            for old in out.parent.glob("initramfs-*.cpio"):
                old.unlink(missing_ok=True)
            tmp = out.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(cpio.finish())
            tmp.rename(out)
    return out
