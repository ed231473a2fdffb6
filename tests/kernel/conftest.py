"""Kernel tests run in a qemu VM; where that is impossible, every test in this
folder is skipped with one line saying why (``VTL_KERNEL_TESTS=require``
turns that skip into a failure, ``VTL_KERNEL_TESTS=0`` skips on purpose)."""
import os
from pathlib import Path

import pytest

from kernel.vm import skip_reason

HERE = Path(__file__).resolve().parent
_SKIPPED = pytest.StashKey[bool]()


def _required() -> bool:
    return os.environ.get("VTL_KERNEL_TESTS", "").lower() == "require"


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if not mine or _required():
        return
    reason = skip_reason()
    if reason:
        for item in mine:
            item.add_marker(pytest.mark.skip(reason=reason))
            item.stash[_SKIPPED] = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report all the skips against the folder, so -ra shows one line."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.stash.get(_SKIPPED, False) and isinstance(report.longrepr, tuple):
        report.longrepr = (str(HERE), None, report.longrepr[2])


@pytest.fixture(scope="session", autouse=True)
def _kernel_vm_possible():
    if _required() and (reason := skip_reason()):
        pytest.fail(f"VTL_KERNEL_TESTS=require, but: {reason}", pytrace=False)
