"""Fixtures for the `vtl` command tests: a real `vtl serve` in a temporary directory.

Tests run the real command (``python -m vtl.cli``) as a subprocess against the
daemon, exactly as an operator would.  Read-only tests share one daemon per
module (``ro``); tests that move cartridges or change settings get their own
(``daemon``).
"""
from __future__ import annotations

import subprocess

import pytest
from support.daemon import Daemon, small_config


@pytest.fixture(scope="module")
def ro(tmp_path_factory) -> Daemon:
    """A daemon shared by a module's read-only tests: 12 slots, 2 mailslots, 2 drives, 8 cartridges."""
    with Daemon(tmp_path_factory.mktemp("vtl-ro"), small_config()) as d:
        yield d


@pytest.fixture
def daemon(tmp_path) -> Daemon:
    """A daemon of the test's own, for tests that change the library."""
    with Daemon(tmp_path / "node", small_config()) as d:
        yield d


def refused(cp: subprocess.CompletedProcess, *phrases: str) -> str:
    """Assert a command failed the way an operator should see it: exit status 1, one readable
    sentence on stderr (containing each phrase), no traceback.  Returns the message."""
    assert cp.returncode == 1, (cp.returncode, cp.stdout, cp.stderr)
    assert "Traceback" not in cp.stderr and "Traceback" not in cp.stdout, cp.stderr
    message = cp.stderr.strip()
    assert message.startswith("Error: "), message
    assert message.count("\n") == 0, message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    return message
