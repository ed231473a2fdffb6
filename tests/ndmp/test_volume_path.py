"""ndmp.volume_path: NDMP paths /vserver_name/volume_name[/path] to a volume and a path in it."""
from __future__ import annotations

import pytest

from ndmp.backend import Volume
from ndmp.volume_path import NoSuchPath, ResolvedPath, resolve

VOL1 = Volume("/vs1/vol1", host_path="/srv/one")
VOL2 = Volume("/vs1/vol2", host_path="/srv/two", read_only=True)
HIDDEN = Volume("/vs2/shown_nowhere")                      # no host directory: not exposed
OFFLINE = Volume("/vs2/gone", host_path="/srv/gone", status="offline")
VOLUMES = [VOL1, VOL2, HIDDEN, OFFLINE]


@pytest.mark.parametrize("path, relative", [
    ("/vs1/vol1", ""),
    ("/vs1/vol1/", ""),
    ("/vs1/vol1/dir", "dir"),
    ("/vs1/vol1/dir/sub/file.txt", "dir/sub/file.txt"),
    ("//vs1//vol1//dir///file", "dir/file"),
    ("/vs1/./vol1/./dir/.", "dir"),
    ("  /vs1/vol1/dir  ", "dir"),
    ("/vs1/vol1/.snapshots", ".snapshots"),                 # only .snapshot itself is special
    ("/vs1/vol1/dir/.snapshot/x", "dir/.snapshot/x"),       # and only at the volume's root
])
def test_paths_inside_a_volume(path, relative):
    assert resolve(VOLUMES, path) == ResolvedPath(VOL1, relative, None)


def test_components_and_other_volumes():
    r = resolve(VOLUMES, "/vs1/vol2/a/b")
    assert r.volume is VOL2 and r.volume.read_only and r.components == ("a", "b")
    assert resolve(VOLUMES, "/vs1/vol2").components == ()


def test_longest_volume_name_wins():
    outer = Volume("/vs1", host_path="/srv/vs1")
    inner = Volume("/vs1/vol1/deep", host_path="/srv/deep")
    volumes = [outer, VOL1, inner]
    assert resolve(volumes, "/vs1/vol1/deep/x") == ResolvedPath(inner, "x", None)
    assert resolve(volumes, "/vs1/vol1/deeper/x") == ResolvedPath(VOL1, "deeper/x", None)
    assert resolve(volumes, "/vs1/vol7/x") == ResolvedPath(outer, "vol7/x", None)
    # component by component, not by characters
    assert resolve(volumes, "/vs1/vol10") == ResolvedPath(outer, "vol10", None)


@pytest.mark.parametrize("path, snapshot, relative", [
    ("/vs1/vol1/.snapshot/nightly", "nightly", ""),
    ("/vs1/vol1/.snapshot/nightly/dir", "nightly", "dir"),
    ("/vs1/vol1/.snapshot/snapshot_for_backup.3/a/b/", "snapshot_for_backup.3", "a/b"),
])
def test_a_named_snapshot(path, snapshot, relative):
    assert resolve(VOLUMES, path) == ResolvedPath(VOL1, relative, snapshot)


@pytest.mark.parametrize("path, phrases", [
    ("/vs1/vol9", ["No volume /vs1/vol9 is configured", "/vs1/vol1, /vs1/vol2", "vtl volume list"]),
    ("/vs1/vol9/dir/file", ["No volume /vs1/vol9", "/vs1/vol9/dir/file"]),
    ("/vs1", ["No volume /vs1 ", "vtl volume list"]),
    ("/", ["No volume / "]),
    ("/vs2/shown_nowhere/x", ["/vs2/shown_nowhere", "not exposed"]),
    ("/vs2/gone/x", ["/vs2/gone", "offline", "/srv/gone"]),
    ("/vs1/vol1/../vol2", ["'..'", "/vs1/vol1/../vol2"]),
    ("/vs1/vol1/dir/../../vol2", ["'..'"]),
    ("/vs1/../etc", ["'..'"]),
    ("/vs1/vol1/.snapshot/../..", ["'..'"]),
    ("/vs1/vol1/.snapshot", ["no snapshot", "/vs1/vol1/.snapshot/NAME"]),
    ("/vs1/vol1/.snapshot/", ["no snapshot"]),
    ("vs1/vol1", ["not absolute", "vs1/vol1"]),
    ("", ["empty"]),
    ("   ", ["empty"]),
    ("/vs1/vol1/a\0b", ["NUL"]),
])
def test_refused_with_a_clear_message(path, phrases):
    with pytest.raises(NoSuchPath) as info:
        resolve(VOLUMES, path)
    for phrase in phrases:
        assert phrase in str(info.value), (phrase, str(info.value))


def test_no_volumes_at_all():
    with pytest.raises(NoSuchPath, match=r"No volume /vs1/vol1 is configured .*\(none is\)"):
        resolve([], "/vs1/vol1")


def test_not_a_string():
    with pytest.raises(NoSuchPath):
        resolve(VOLUMES, None)  # type: ignore[arg-type]
