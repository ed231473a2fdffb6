"""Smoke test of the test VM itself: one boot, then each check reads its result.

The guest must be the Debian kernel, with LIO/TCMU usable through configfs,
the host's python able to import the project, and the SCSI and iSCSI tools
runnable.
"""
import os
import sys

import pytest

from kernel.vm import run_vm

SCRIPT = r"""
# check NAME CMD...: CMD's output in NAME.out, its exit status in NAME.rc
check() {
    name=$1; shift
    rc=0
    "$@" > "$VTL_RESULTS/$name.out" 2>&1 || rc=$?
    echo $rc > "$VTL_RESULTS/$name.rc"
}
tcmu() {
    hba=/sys/kernel/config/target/core/user_1
    mkdir -p $hba/probe &&
    printf dev_config=probe/x > $hba/probe/control &&
    printf dev_size=1048576 > $hba/probe/control &&
    echo 1 > $hba/probe/enable &&
    cat /sys/class/uio/uio*/name &&
    ls /sys/class/uio | sed 's|^|/dev/|' | xargs ls &&
    rmdir $hba/probe $hba &&
    echo "after removal: $(ls /sys/class/uio | wc -l) uio devices"
}
check uname uname -r
check configfs ls /sys/kernel/config/target
check tcmu tcmu
check python python -c 'import sys, vtl, scsi, construct; print(sys.executable)'
check lsscsi lsscsi
check sg_inq sg_inq --version
check mt mt --version
check mtx mtx --version
check iscsiadm iscsiadm --version
echo smoke done
"""


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    return run_vm(SCRIPT, timeout=240, workdir=tmp_path_factory.mktemp("vm"))


def check(vm, name):
    """(exit status, output) of one check in the guest."""
    out = (vm.results_dir / f"{name}.out").read_text()
    rc = int((vm.results_dir / f"{name}.rc").read_text())
    return rc, out


def test_script_ran_to_the_end(vm):
    assert vm.rc == 0, vm.output
    assert "smoke done" in vm.output
    assert "smoke done" in vm.console


def test_guest_runs_the_debian_kernel(vm):
    rc, out = check(vm, "uname")
    assert rc == 0 and out.strip() == vm.kernel.kver
    assert out.strip() != os.uname().release or vm.kernel.kver == os.uname().release


def test_configfs_has_the_target_core(vm):
    rc, out = check(vm, "configfs")
    assert rc == 0, out
    assert "core" in out.split()


def test_tcmu_backstore_by_hand_makes_a_uio_device(vm):
    rc, out = check(vm, "tcmu")
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("tcm-user/1/probe/"), out
    assert lines[1].startswith("/dev/uio"), out           # devtmpfs made the node
    assert lines[-1] == "after removal: 0 uio devices", out


def test_host_python_imports_the_project(vm):
    rc, out = check(vm, "python")
    assert rc == 0, out
    assert out.strip() == sys.executable


@pytest.mark.parametrize("tool, expect", [
    ("lsscsi", ""),                     # no SCSI devices yet: empty, but it runs
    ("sg_inq", "Version string"),
    ("mt", "mt-st"),
    ("mtx", "mtx version"),             # mtx --version exits 1 after printing it
    ("iscsiadm", "iscsiadm version"),
])
def test_tools_run(vm, tool, expect):
    rc, out = check(vm, tool)
    assert rc == 0 or tool == "mtx", out
    assert expect in out
    assert "not found" not in out
