"""Obtain a real Debian kernel (image + modules) for the qemu test VM.

The kernel is never installed on the host: the package that ``linux-image-amd64``
currently depends on is fetched with ``apt-get download`` into a cache directory
(``$VTL_KERNEL_CACHE``, default ``~/.cache/vtl/kernel``), unpacked with
``dpkg -x`` and indexed with ``depmod -b``.  The package name is resolved every
time (old security versions disappear from the mirror), so nothing is pinned.

Layout of the cache::

    <cache>/.lock                       flock(2) held while unpacking
    <cache>/<package>/root/             dpkg -x of the package
    <cache>/<package>/vmlinux           uncompressed kernel for a PVH boot (optional)
    <cache>/<package>/ready             written last: "<kver>\\n"

Several test modules (and several pytest workers) call :func:`ensure_kernel`;
the first unpacks, the others wait on the lock and reuse the result.
"""
from __future__ import annotations

import bz2
import fcntl
import lzma
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

META_PACKAGE = "linux-image-amd64"
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class KernelUnavailable(RuntimeError):
    """The kernel package cannot be resolved, downloaded or unpacked."""


@dataclass(frozen=True)
class Kernel:
    package: str          # e.g. linux-image-6.1.0-56-amd64
    kver: str             # e.g. 6.1.0-56-amd64 (the /lib/modules directory name)
    image: Path           # what qemu -kernel boots: vmlinux (PVH) or the bzImage
    bzimage: Path         # /boot/vmlinuz-<kver> inside the unpacked root
    root: Path            # dpkg -x root; modules live in root/lib/modules/<kver>

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib" / "modules" / self.kver


def cache_dir() -> Path:
    return Path(os.environ.get("VTL_KERNEL_CACHE", "~/.cache/vtl/kernel")).expanduser()


def tool(name: str) -> str | None:
    """Find a tool also in the sbin directories (not on a normal user's PATH)."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + SBIN_PATH)


@contextmanager
def locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", PATH=os.environ.get("PATH", "") + ":" + SBIN_PATH)
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, **kw)


def resolve_package() -> str:
    """The kernel package linux-image-amd64 depends on right now."""
    if not tool("apt-cache"):
        raise KernelUnavailable("apt-cache not found (a Debian/Ubuntu host is needed)")
    proc = _run(["apt-cache", "depends", META_PACKAGE])
    for line in proc.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if key in ("Depends", "|Depends") and value.startswith("linux-image-"):
            return value
    raise KernelUnavailable(
        f"apt-cache depends {META_PACKAGE} names no kernel package "
        f"(run apt-get update): {(proc.stderr or proc.stdout).strip()[:200]}")


def _cached(base: Path) -> Kernel | None:
    """The unpacked kernel in ``base`` if it is complete."""
    ready = base / "ready"
    if not ready.is_file():
        return None
    kver = ready.read_text().strip()
    root = base / "root"
    bzimage = root / "boot" / f"vmlinuz-{kver}"
    vmlinux = base / "vmlinux"
    image = vmlinux if vmlinux.is_file() else bzimage
    if not bzimage.is_file() or not (root / "lib" / "modules" / kver / "modules.dep").is_file():
        return None
    return Kernel(package=base.name, kver=kver, image=image, bzimage=bzimage, root=root)


def _newest_cached(cache: Path) -> Kernel | None:
    found = [k for d in cache.glob("linux-image-*") if (k := _cached(d))]
    return max(found, key=lambda k: (k.root.parent / "ready").stat().st_mtime, default=None)


def ensure_kernel(*, pvh: bool = True) -> Kernel:
    """Download and unpack the current Debian kernel once; return its paths.

    Offline, or when apt no longer finds the package, a kernel unpacked before
    is used instead of failing.
    """
    cache = cache_dir()
    try:
        package = resolve_package()
    except KernelUnavailable:
        with locked(cache):
            if old := _newest_cached(cache):
                return old
        raise
    base = cache / package
    if kernel := _cached(base):                # fast path, no lock needed
        return kernel
    with locked(cache):
        if kernel := _cached(base):            # unpacked meanwhile by another process
            return kernel
        try:
            kernel = _unpack(package, base, pvh=pvh)
        except KernelUnavailable:
            if old := _newest_cached(cache):
                return old
            raise
        for other in cache.glob("linux-image-*"):   # keep one kernel in the cache
            if other != base and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
        return kernel


def _unpack(package: str, base: Path, *, pvh: bool) -> Kernel:
    for name in ("apt-get", "dpkg", "depmod"):
        if not tool(name):
            raise KernelUnavailable(f"{name} not found (apt-get install apt dpkg kmod)")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=base, prefix="download-") as tmp:
        os.chmod(tmp, 0o755)   # let apt's _apt sandbox user write there (no warning)
        proc = _run(["apt-get", "download", "-q", package], cwd=tmp)
        debs = list(Path(tmp).glob("*.deb"))
        if proc.returncode or not debs:
            shutil.rmtree(base, ignore_errors=True)
            raise KernelUnavailable(
                f"apt-get download {package} failed (run apt-get update?): "
                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ''}")
        root = base / "root"
        proc = _run(["dpkg", "-x", str(debs[0]), str(root)])
        if proc.returncode:
            raise KernelUnavailable(f"dpkg -x {debs[0].name} failed: {proc.stderr.strip()}")
    kvers = [d.name for d in (root / "lib" / "modules").iterdir() if d.is_dir()]
    if len(kvers) != 1:
        raise KernelUnavailable(f"{package}: expected one /lib/modules/<kver>, found {kvers}")
    kver = kvers[0]
    bzimage = root / "boot" / f"vmlinuz-{kver}"
    if not bzimage.is_file():
        raise KernelUnavailable(f"{package}: {bzimage.name} missing")
    proc = _run(["depmod", "-b", str(root), kver])
    if proc.returncode:
        raise KernelUnavailable(f"depmod -b {root} {kver} failed: {proc.stderr.strip()}")
    if pvh:
        try:
            elf = extract_vmlinux(bzimage.read_bytes())
        except ValueError:
            elf = None
        if elf is not None and has_pvh_note(elf):
            tmp_vmlinux = base / "vmlinux.tmp"
            tmp_vmlinux.write_bytes(elf)
            tmp_vmlinux.rename(base / "vmlinux")
    (base / "ready").write_text(kver + "\n")
    kernel = _cached(base)
    assert kernel is not None
    return kernel


# --- scripts/extract-vmlinux, in Python ---------------------------------------

def _zstd(data: bytes) -> bytes:
    import zstandard  # a dependency of the project
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _lz4_legacy(data: bytes) -> bytes:
    import lz4.block  # a dependency of the project
    out, pos = bytearray(), 4
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from("<I", data, pos)
        if size == 0x184C2102 or size == 0 or pos + 4 + size > len(data):
            break   # next legacy frame, or the end
        out += lz4.block.decompress(data[pos + 4:pos + 4 + size], uncompressed_size=8 << 20)
        pos += 4 + size
    return bytes(out)


# (magic, decompressor) in the order extract-vmlinux tries them
_PAYLOADS: list[tuple[bytes, object]] = [
    (b"\x1f\x8b\x08", lambda d: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(d)),
    (b"\xfd7zXZ\x00", lambda d: lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(d)),
    (b"BZh", lambda d: bz2.BZ2Decompressor().decompress(d)),
    (b"\x5d\x00\x00\x00", lambda d: lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(d)),
    (b"(\xb5/\xfd", _zstd),
    (b"\x02!L\x18", _lz4_legacy),
]


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The ELF vmlinux inside a bzImage: find a compressed payload that
    decompresses to an ELF file (what scripts/extract-vmlinux does)."""
    for magic, decompress in _PAYLOADS:
        start = 0
        while (off := bzimage.find(magic, start)) >= 0:
            start = off + 1
            try:
                out = decompress(bzimage[off:])
            except Exception:   # noqa: BLE001, S112 - a false magic match; try the next
                continue
            if out[:4] == b"\x7fELF":
                return out
    raise ValueError("no compressed ELF payload found in the kernel image")


def has_pvh_note(elf: bytes) -> bool:
    """Whether a 64-bit ELF vmlinux has the XEN_ELFNOTE_PHYS32_ENTRY note
    qemu needs to boot it directly (PVH)."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:   # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == 18:   # XEN_ELFNOTE_PHYS32_ENTRY
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


if __name__ == "__main__":
    import time
    t = time.monotonic()
    k = ensure_kernel()
    print(k, f"{time.monotonic() - t:.1f}s")
