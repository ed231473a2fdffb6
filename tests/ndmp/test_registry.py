"""Session ids, the seed's session limits, and the handles management uses."""
from __future__ import annotations

import pytest
from ndmp_dma import Dma, context

from ndmp.registry import (
    DEFAULT_MAX_SESSIONS,
    GIB,
    SessionLimitReached,
    SessionRegistry,
    max_sessions_for_memory,
)
from ndmp.session import Session


@pytest.mark.parametrize(("memory", "limit"), [(8 * GIB, 8), (16 * GIB - 1, 8), (16 * GIB, 20),
                                               (24 * GIB - 1, 20), (24 * GIB, 36), (512 * GIB, 36)])
def test_seed_limits(memory, limit):
    assert max_sessions_for_memory(memory) == limit


def test_default_is_the_seeds_largest():
    assert SessionRegistry().max_sessions == DEFAULT_MAX_SESSIONS == 36


def test_limit_and_release():
    reg = SessionRegistry(2)
    a, b = reg.reserve("10.0.0.1:1"), reg.reserve("10.0.0.1:2")
    assert (a, b) == (1, 2)
    with pytest.raises(SessionLimitReached, match="NDMP session limit reached: .* 2 NDMP sessions, the maximum"):
        reg.reserve("10.0.0.1:3")
    reg.release(a)
    assert reg.reserve("10.0.0.1:4") == 3           # ids are not reused
    assert len(reg) == 2


def test_list_and_kill():
    reg = SessionRegistry()
    killed = []
    sessions = []
    for peer in ("10.0.0.1:1", "10.0.0.2:2"):
        sid = reg.reserve(peer)
        s = Session(context(), session_id=sid, peer=peer)
        reg.attach(sid, s, killed.append if sid == 1 else None)
        sessions.append(s)
    assert [(i.session_id, i.peer, i.phase) for i in reg.sessions()] == \
        [(1, "10.0.0.1:1", "connected"), (2, "10.0.0.2:2", "connected")]
    assert reg.get(2) is sessions[1]
    assert reg.kill(1, "bye")
    assert killed == ["bye"]                          # the owner's callback does the shutting down
    assert reg.kill(2)
    assert sessions[1].closed and "terminated by an administrator" in sessions[1].close_reason
    assert not reg.kill(99)


def test_kill_all():
    reg = SessionRegistry()
    dmas = []
    for _ in range(3):
        sid = reg.reserve()
        d = Dma(Session(context(), session_id=sid))
        reg.attach(sid, d.session)
        dmas.append(d)
    assert reg.kill_all("stopping") == 3
    for d in dmas:
        [notice] = d.read()
        assert notice.body.text_reason == "stopping" and d.session.closed


def test_bad_limit():
    with pytest.raises(ValueError, match="at least 1"):
        SessionRegistry(0)
