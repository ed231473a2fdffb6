"""Run a shell script as root in a qemu VM on a real Debian kernel.

The guest sees the host's whole filesystem read-only (virtio-9p) under a tmpfs
overlay, so the host's python, the repository and the installed tools run in
it unchanged; LIO, TCMU, tcm_loop, the iSCSI target, st, ch, sg and uio are
loaded and configfs is mounted before the script starts.  See README.md.

    result = run_vm("lsscsi; python -c 'import vtl'")
    assert result.rc == 0, result.output

Only TCG is used (``-accel tcg``): the KVM on these machines cannot boot a
stock kernel.  A boot to the script takes a few seconds.
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .initramfs import GUEST_RESULTS, build_initramfs, find_busybox
from .kernel import Kernel, KernelUnavailable, ensure_kernel, tool

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
QEMU = "qemu-system-x86_64"
# Loaded in the guest before the script runs (configfs as a dependency).
GUEST_MODULES = ("target_core_mod", "target_core_user", "tcm_loop", "iscsi_target_mod",
                 "st", "ch", "sg", "uio")
QEMU_OVERHEAD_MB = 400      # qemu's own memory on top of the guest's (TCG, 9p)


class VmError(RuntimeError):
    """The VM did not run the script to its end.  ``result`` has rc=None."""

    def __init__(self, message: str, result: VmResult) -> None:
        super().__init__(message)
        self.result = result


class VmTimeout(VmError):
    """The VM was killed after ``timeout`` seconds."""


@dataclass
class VmResult:
    rc: int | None              # the script's exit status; None if it never finished
    output: str                 # the script's stdout and stderr, interleaved
    console: str                # the serial console: kernel log and the script's output
    results_dir: Path           # the read-write share; the guest sees it as $VTL_RESULTS
    boot_seconds: float | None = None    # guest uptime when the script started
    script_seconds: float | None = None  # how long the script ran (guest clock)
    wall_seconds: float = 0.0            # qemu start to exit, on the host
    kernel: Kernel | None = field(default=None, repr=False)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _mem_available_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


@functools.cache
def skip_reason(memory_mb: int = 512) -> str | None:
    """One line saying why kernel tests cannot run here, or None if they can.

    May download and unpack the kernel (once; it is cached).
    """
    if os.environ.get("VTL_KERNEL_TESTS", "").lower() in ("0", "no", "off", "skip"):
        return "kernel tests disabled by VTL_KERNEL_TESTS"
    if not sys.platform.startswith("linux"):
        return f"kernel tests need Linux (this is {sys.platform})"
    if not tool(QEMU):
        return f"{QEMU} not found (apt-get install qemu-system-x86)"
    if find_busybox() is None:
        return "no static busybox (apt-get install busybox-static)"
    if not tool("modprobe"):
        return "modprobe not found (apt-get install kmod)"
    avail = _mem_available_mb()
    if avail is not None and avail < memory_mb + QEMU_OVERHEAD_MB:
        return (f"not enough memory for the test VM: {avail} MiB available, "
                f"{memory_mb + QEMU_OVERHEAD_MB} MiB needed")
    try:
        _kernel_and_initrd()
    except (KernelUnavailable, OSError) as exc:
        return f"Debian kernel not available: {exc}"
    return None


@functools.cache
def _kernel_and_initrd() -> tuple[Kernel, Path]:
    kernel = ensure_kernel()
    if any(c.isspace() for c in str(kernel.modules_dir)):
        raise KernelUnavailable(f"the kernel cache path may not contain blanks (it goes on "
                                f"the kernel command line): {kernel.modules_dir}")
    return kernel, build_initramfs(kernel)


def _qemu_argv(kernel: Kernel, initrd: Path, results: Path, console: Path,
               memory_mb: int, cpus: int, *, image: Path | None = None) -> list[str]:
    cmdline = " ".join([
        "console=ttyS0", "rdinit=/init", "panic=-1", "oops=panic",
        "loglevel=4",               # warnings and worse on the console; dmesg has all
        "mitigations=off",          # nothing to protect; speculation barriers cost under TCG
        "tsc=unstable", "no_timer_check",
        "i8042.noaux", "i8042.nokbd", "i8042.nopnp",
        "8250.nr_uarts=1",
        "random.trust_cpu=on",
        f"vtl_kver={kernel.kver}", f"vtl_modules={kernel.modules_dir}",
    ])
    p9 = "security_model=none,multidevs=remap"

    def opt(path: Path) -> str:   # a path inside a qemu option list: "," is doubled
        return str(path).replace(",", ",,")
    return [
        QEMU, "-accel", "tcg,thread=multi", "-cpu", "max", "-M", "q35",
        "-m", str(memory_mb), "-smp", str(cpus),
        "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
        "-chardev", f"file,id=console,path={opt(console)}", "-serial", "chardev:console",
        "-nic", "none", "-no-reboot",
        "-kernel", str(image or kernel.image), "-initrd", str(initrd), "-append", cmdline,
        "-virtfs", f"local,path=/,mount_tag=hostroot,readonly=on,{p9}",
        "-virtfs", f"local,path={opt(results)},mount_tag=results,{p9}",
    ]


def run_vm(script: str, *, timeout: float = 300, memory_mb: int = 512, cpus: int = 2,
           env: dict[str, str] | None = None, workdir: Path | None = None,
           udev: bool = True) -> VmResult:
    """Boot the VM, run ``script`` with ``/bin/sh -e`` as root, power off.

    The script starts in the repository root with ``python`` (the host's
    ``sys.executable``) first on PATH, ``PYTHONPATH`` = the repository, and
    ``$VTL_RESULTS`` = a read-write directory that is ``results_dir`` on the
    host.  ``env`` adds variables.  ``workdir`` (default: a new temporary
    directory, kept) holds ``results/`` and ``console.log``.

    Raises VmTimeout after ``timeout`` seconds, VmError if the guest stopped
    without finishing the script; both carry ``.result`` (rc=None) and the
    console's tail in their message.  KernelUnavailable if there is no kernel.
    """
    kernel, initrd = _kernel_and_initrd()
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="vtl-vm-"))
    results = work / "results"
    harness = results / ".vtl"
    harness.mkdir(parents=True, exist_ok=True)
    for stale in ("rc", "output", "script_start", "script_end", "guest_error"):
        (harness / stale).unlink(missing_ok=True)
    shutil.copyfile(HERE / "guest_init.sh", harness / "guest_init.sh")
    (harness / "script").write_text(script if script.endswith("\n") else script + "\n")

    python_bin = os.path.dirname(sys.executable)
    guest_env = {
        "PATH": f"{python_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb",
        "PYTHON": sys.executable, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1",
        "VTL_RESULTS": GUEST_RESULTS, "VTL_CWD": str(REPO),
        "VTL_MODULES": " ".join(GUEST_MODULES), "VTL_GUEST_UDEV": "1" if udev else "0",
        "VTL_IN_VM": "1",
    }
    guest_env.update(env or {})
    (harness / "env").write_text(
        "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in guest_env.items()))

    console = work / "console.log"
    console.write_bytes(b"")
    qemu_log = work / "qemu.log"
    argv = _qemu_argv(kernel, initrd, results, console, memory_mb, cpus)
    started = time.monotonic()
    with open(qemu_log, "wb") as qlog:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=qlog, stderr=qlog,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
    wall = time.monotonic() - started

    def read(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def seconds(name: str) -> float | None:
        try:
            return float(read(harness / name).strip())
        except ValueError:
            return None

    rc_text = read(harness / "rc").strip()
    start, end = seconds("script_start"), seconds("script_end")
    result = VmResult(
        rc=int(rc_text) if rc_text and not timed_out else None,
        output=read(harness / "output"),
        console=read(console),
        results_dir=results,
        boot_seconds=start,
        script_seconds=(end - start) if start is not None and end is not None else None,
        wall_seconds=wall,
        kernel=kernel,
    )
    if timed_out:
        raise VmTimeout(f"test VM killed after {timeout:g} s; console tail:\n"
                        f"{_tail(result.console)}\n--- script output tail:\n"
                        f"{_tail(result.output, 20)}", result)
    if result.rc is None:
        why = read(harness / "guest_error").strip() or read(qemu_log).strip()
        raise VmError(f"test VM stopped before the script finished (qemu exit "
                      f"{proc.returncode}){': ' + why if why else ''}; console tail:\n"
                      f"{_tail(result.console)}", result)
    return result


if __name__ == "__main__":
    # PYTHONPATH=tests python -m kernel.vm 'uname -r; lsscsi'
    if len(sys.argv) != 2:
        sys.exit("usage: PYTHONPATH=tests python -m kernel.vm SCRIPT")
    reason = skip_reason()
    if reason:
        sys.exit(reason)
    res = run_vm(sys.argv[1])
    sys.stdout.write(res.output)
    print(f"[rc={res.rc} boot={res.boot_seconds}s script={res.script_seconds:.2f}s "
          f"wall={res.wall_seconds:.1f}s results={res.results_dir}]", file=sys.stderr)
    sys.exit(res.rc)
