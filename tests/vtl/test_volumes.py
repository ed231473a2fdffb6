"""Volumes (vtl/volumes.py): the [[volume]] tables, volumes created and deleted at run time
in the state store, what NDMP sees of them (NodeBackend, CONFIG_GET_FS_INFO's values,
path resolution) and what `vtl volume list` shows."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from support.daemon import small_config

from ndmp.snapshot import filesystem_type
from ndmp.volume_path import NoSuchPath, resolve
from vtl.config import ConfigError, default_text, load, loads
from vtl.ndmp_backend import NodeBackend
from vtl.node import Node
from vtl.store import Store
from vtl.volumes import (
    SCOPE,
    VolumeError,
    VolumeSpec,
    create_volume,
    delete_volume,
    describe,
    name_problem,
    ndmp_volume,
    node_volumes,
    volume_config,
)


def write_config(tmp_path: Path, volumes: str) -> Path:
    path = tmp_path / "vtl.toml"
    path.write_text(small_config() + "\n" + volumes)
    return path


def parse(tmp_path: Path, volumes: str) -> tuple[VolumeSpec, ...]:
    return volume_config(load(write_config(tmp_path, volumes)))


def refused(tmp_path: Path, volumes: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(tmp_path, volumes)
    error = info.value
    assert error.source == str(tmp_path / "vtl.toml")
    assert str(error).count("Fix: ") == 1 and error.fix
    return error


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("data", "home", "other"):
        out[name] = tmp_path / "host" / name
        out[name].mkdir(parents=True)
    return out


# -- the [[volume]] tables -----------------------------------------------------------------


def test_no_table_exposes_nothing(tmp_path):
    assert parse(tmp_path, "") == ()
    node = loads(default_text(), base=Path("/srv/vtl"), source=Path("/srv/vtl/vtl.toml"))
    assert "volume" not in node.extra and volume_config(node) == ()


def test_every_key(tmp_path, dirs):
    specs = parse(tmp_path, f'''
[[volume]]
name = "/vs1/vol1"
path = "{dirs['data']}"

[[volume]]
name = "/svm_2.x/Vol_2"
path = "host/home"          # relative to the configuration's directory
read_only = true
snapshot = "Copy"
''')
    assert specs == (VolumeSpec("/vs1/vol1", dirs["data"], False, "auto", "config"),
                     VolumeSpec("/svm_2.x/Vol_2", dirs["home"], True, "copy", "config"))


@pytest.mark.parametrize("body, where, key, phrase, fix", [
    ('[volume]\nname = "/vs1/vol1"\npath = "/srv"', "[[volume]]", None, "single table", "[[volume]]"),
    ('[[volume]]\npath = "/srv"', "[[volume]] number 1", "name", "name is missing", 'name = "/vs1/vol1"'),
    ('[[volume]]\nname = "/vs1/vol1"', "[[volume]] number 1", "path", "path is missing", 'path = "/srv/data"'),
    ('[[volume]]\nname = "vol1"\npath = "/srv"', "[[volume]] number 1", "name", "exactly two parts",
     'name = "/vs1/vol1"'),
    ('[[volume]]\nname = "/vs1/vol1/dir"\npath = "/srv"', "[[volume]] number 1", "name", "exactly two parts",
     "/vs1/vol1"),
    ('[[volume]]\nname = "/vs1/"\npath = "/srv"', "[[volume]] number 1", "name", "cannot be a volume name",
     "/vs1/vol1"),
    ('[[volume]]\nname = "/vs 1/vol1"\npath = "/srv"', "[[volume]] number 1", "name", "cannot be a vserver name",
     "/vs1/vol1"),
    ('[[volume]]\nname = "/vs1/vol-1"\npath = "/srv"', "[[volume]] number 1", "name", "cannot be a volume name",
     "/vs1/vol1"),
    ('[[volume]]\nname = "/vs1/.snapshot"\npath = "/srv"', "[[volume]] number 1", "name",
     "cannot be a volume name", "/vs1/vol1"),
    ('[[volume]]\nname = "/vs1/1vol"\npath = "/srv"', "[[volume]] number 1", "name", "starting with a letter",
     "/vs1/vol1"),
    ('[[volume]]\nname = 7\npath = "/srv"', "[[volume]] number 1", "name", "must be a string", "/vs1/vol1"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = ""', "[[volume]] number 1", "path", "path is empty", "/srv/data"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = ["/srv"]', "[[volume]] number 1", "path", "must be a string",
     "/srv/data"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv"\nread_only = "yes"', "[[volume]] number 1", "read_only",
     "true or false", "read_only = false"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv"\nsnapshot = "zfs"', "[[volume]] number 1", "snapshot",
     '"zfs" is not a snapshot method', "btrfs, reflink or copy"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv"\nReadOnly = true', "[[volume]] number 1", "ReadOnly",
     "not a key of [[volume]]", "name, path, read_only, snapshot"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv"\nPATH = "/x"', "[[volume]] number 1", "PATH",
     "not a key", "lower case"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv/a"\n[[volume]]\nname = "/vs1/vol1"\npath = "/srv/b"',
     "[[volume]] number 2", "name", "defined twice (also in [[volume]] number 1)", "one table"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv/a"\n[[volume]]\nname = "/vs1/vol2"\npath = "/srv/a/b"',
     "[[volume]] number 2", "path", "one is inside the other", "neither inside the other"),
    ('[[volume]]\nname = "/vs1/vol1"\npath = "/srv/a/"\n[[volume]]\nname = "/vs1/vol2"\npath = "/srv/a"',
     "[[volume]] number 2", "path", "the same or one is inside", "a directory of its own"),
])
def test_refusals_name_file_line_table_key_and_fix(tmp_path, body, where, key, phrase, fix):
    error = refused(tmp_path, body)
    assert error.table == where and error.key == key
    assert phrase in error.message, error.message
    assert fix in error.fix, error.fix
    # the line of the key when the table has it, else the table's header
    text = (tmp_path / "vtl.toml").read_text().splitlines()[error.line - 1].strip()
    assert text.startswith(f"{key} =") if key and f"\n{key} =" in body else text.startswith("["), text


def test_a_top_level_volume_key_is_refused_by_the_configuration(tmp_path):
    path = tmp_path / "vtl.toml"
    path.write_text('volume = "/srv"\n' + small_config())
    with pytest.raises(ConfigError, match="outside any table"):
        load(path)


# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["/vs1/vol1", "/_x/_y", "/a.b-c_d/V_9", "/" + "v" * 47 + "/" + "w" * 203])
def test_good_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["", "vs1/vol1", "/vs1", "/vs1/vol1/", "//vol1", "/vs1//", "/vs1/vol 1",
                                  "/" + "v" * 48 + "/vol", "/vs1/" + "w" * 204, "/-vs/vol", "/vs1/vol.1", None, 3])
def test_bad_names(name):
    assert name_problem(name)


# -- created volumes -------------------------------------------------------------------------


@pytest.fixture
def setup(tmp_path, dirs):
    config = load(write_config(tmp_path, f'[[volume]]\nname = "/vs1/conf"\npath = "{dirs["home"]}"\n'))
    store = Store(tmp_path / "state.sqlite")
    yield config, store
    store.close()


def test_create_list_delete_and_they_outlive_the_store(tmp_path, dirs, setup):
    config, store = setup
    spec = create_volume(config, store, "/vs1/vol1", str(dirs["data"]), read_only=True, snapshot="copy")
    assert (spec.name, spec.path, spec.read_only, spec.snapshot, spec.source) == (
        "/vs1/vol1", dirs["data"], True, "copy", "cli")
    assert spec.created is not None
    assert [(v.name, v.source) for v in node_volumes(config, store)] == [("/vs1/conf", "config"),
                                                                         ("/vs1/vol1", "cli")]
    store.close()
    again = Store(tmp_path / "state.sqlite")                 # a restarted daemon
    try:
        assert node_volumes(config, again)[1] == spec
        assert delete_volume(config, again, "/vs1/vol1") == spec
        assert [v.name for v in node_volumes(config, again)] == ["/vs1/conf"]
        assert dirs["data"].is_dir()                          # the directory is never touched
    finally:
        again.close()


@pytest.mark.parametrize("name, path, kw, phrase", [
    ("vol1", "DATA", {}, "exactly two parts"),
    ("/vs1/vol-1", "DATA", {}, "cannot be a volume name"),
    ("/vs1/conf", "DATA", {}, "already exists (from the configuration"),
    ("/vs1/vol1", "MISSING", {}, "does not exist"),
    ("/vs1/vol1", "FILE", {}, "is not a directory"),
    ("/vs1/vol1", "relative/dir", {}, "absolute path"),
    ("/vs1/vol1", "HOME", {}, "volumes may not nest"),
    ("/vs1/vol1", "HOME/inner", {}, "volumes may not nest"),
    ("/vs1/vol1", "DATA", {"snapshot": "zfs"}, '"zfs" is not a snapshot method'),
    ("/vs1/vol1", "DATA", {"snapshot": "btrfs"}, "not the root of a btrfs subvolume"),
])
def test_create_refusals(tmp_path, dirs, setup, name, path, kw, phrase):
    config, store = setup
    (dirs["home"] / "inner").mkdir()
    (tmp_path / "afile").write_text("")
    path = (path.replace("DATA", str(dirs["data"])).replace("HOME", str(dirs["home"]))
            .replace("MISSING", str(tmp_path / "missing")).replace("FILE", str(tmp_path / "afile")))
    with pytest.raises(VolumeError) as info:
        create_volume(config, store, name, path, **kw)
    assert phrase in str(info.value), str(info.value)
    assert store.settings(SCOPE) == {}


def test_a_name_is_created_once_and_volumes_do_not_nest(dirs, setup):
    config, store = setup
    create_volume(config, store, "/vs1/vol1", str(dirs["data"]))
    with pytest.raises(VolumeError, match=r"already exists \(from vtl volume create"):
        create_volume(config, store, "/vs1/vol1", str(dirs["other"]))
    (dirs["data"] / "sub").mkdir()
    with pytest.raises(VolumeError, match="may not nest"):
        create_volume(config, store, "/vs1/vol2", str(dirs["data"] / "sub"))
    with pytest.raises(VolumeError, match="may not nest"):
        create_volume(config, store, "/vs1/vol2", str(dirs["data"].parent))


def test_delete_refusals(setup):
    config, store = setup
    with pytest.raises(VolumeError, match=r"defined in the configuration .*\[\[volume\]\] number 1.*restart"):
        delete_volume(config, store, "/vs1/conf")
    with pytest.raises(VolumeError, match=r"There is no volume /vs1/nope; the volumes are: /vs1/conf"):
        delete_volume(config, store, "/vs1/nope")
    with pytest.raises(VolumeError, match="exactly two parts"):
        delete_volume(config, store, "nope")


def test_a_configured_volume_hides_a_created_one_of_the_same_name(tmp_path, dirs, caplog):
    store = Store(tmp_path / "state.sqlite")
    try:
        plain = load(write_config(tmp_path, ""))
        create_volume(plain, store, "/vs1/vol1", str(dirs["data"]))
        later = load(write_config(tmp_path, f'[[volume]]\nname = "/vs1/vol1"\npath = "{dirs["other"]}"\n'))
        with caplog.at_level(logging.WARNING, logger="vtl.volumes"):
            first = node_volumes(later, store)
            node_volumes(later, store)
        assert [(v.name, v.path, v.source) for v in first] == [("/vs1/vol1", dirs["other"], "config")]
        assert caplog.text.count("the configuration's wins") == 1          # said once, not per request
        assert delete_volume(later, store, "/vs1/vol1").source == "cli"   # the created one can go
        assert [v.source for v in node_volumes(later, store)] == ["config"]
    finally:
        store.close()


def test_a_damaged_saved_volume_is_ignored_and_can_be_deleted(tmp_path, dirs, setup, caplog):
    config, store = setup
    store.save_settings(SCOPE, {"/vs1/bad": {"path": 5}, "/vs1/ok": {"path": str(dirs["data"])}})
    with caplog.at_level(logging.WARNING, logger="vtl.volumes"):
        assert [v.name for v in node_volumes(config, store)] == ["/vs1/conf", "/vs1/ok"]
    assert "/vs1/bad in the state store is damaged" in caplog.text
    delete_volume(config, store, "/vs1/bad")
    assert "/vs1/bad" not in store.settings(SCOPE)


# -- what NDMP sees --------------------------------------------------------------------------


def test_ndmp_volume_has_the_filesystem_figures(dirs):
    volume = ndmp_volume(VolumeSpec("/vs1/vol1", dirs["data"], True, "copy"))
    fs = os.statvfs(dirs["data"])
    assert (volume.name, volume.host_path, volume.read_only, volume.snapshot, volume.status) == (
        "/vs1/vol1", str(dirs["data"]), True, "copy", "online")
    assert volume.fs_type == filesystem_type(str(dirs["data"])) != ""
    assert volume.physical_device == str(dirs["data"])
    assert volume.total_size == fs.f_blocks * fs.f_frsize
    assert volume.avail_size == pytest.approx(fs.f_bavail * fs.f_frsize, rel=0.01)
    assert volume.used_size == pytest.approx((fs.f_blocks - fs.f_bfree) * fs.f_frsize, rel=0.01)
    assert volume.total_inodes == fs.f_files
    assert volume.used_inodes == pytest.approx(fs.f_files - fs.f_ffree, rel=0.01)


def test_a_missing_directory_is_offline(tmp_path):
    volume = ndmp_volume(VolumeSpec("/vs1/gone", tmp_path / "gone"))
    assert volume.status == "offline" and volume.total_size is None and volume.host_path == str(tmp_path / "gone")
    with pytest.raises(NoSuchPath, match="offline"):
        resolve([volume], "/vs1/gone/x")
    row = describe(VolumeSpec("/vs1/gone", tmp_path / "gone"))
    assert row["status"] == "offline" and row["snapshot_usable"] is None and "not a directory" in \
        row["snapshot_problem"]


def test_describe_probes_the_snapshot_method(dirs):
    row = describe(VolumeSpec("/vs1/vol1", dirs["data"], source="cli", created=5.0))
    assert row["snapshot"] == "auto" and row["snapshot_usable"] == "copy" and row["snapshot_problem"] is None
    assert (row["name"], row["path"], row["source"], row["read_only"], row["created"]) == (
        "/vs1/vol1", str(dirs["data"]), "cli", False, 5.0)
    assert row["filesystem"] == filesystem_type(str(dirs["data"]))
    assert row["total_size"] > 0 and row["total_inodes"] > 0
    assert os.listdir(dirs["data"]) == []                    # probing left nothing behind


def test_node_backend_lists_configured_and_created_volumes_at_once(tmp_path, dirs):
    text = small_config() + f'\n[[volume]]\nname = "/vs1/conf"\npath = "{dirs["home"]}"\nread_only = true\n'
    node = Node(loads(text, base=tmp_path, source=tmp_path / "vtl.toml"))
    try:
        backend = NodeBackend(node)
        assert [(v.name, v.host_path, v.read_only) for v in backend.volumes()] == [
            ("/vs1/conf", str(dirs["home"]), True)]
        create_volume(node.config, node.store, "/vs2/data", str(dirs["data"]), snapshot="copy")
        volumes = backend.volumes()
        assert [(v.name, v.snapshot) for v in volumes] == [("/vs1/conf", "auto"), ("/vs2/data", "copy")]
        assert all(v.total_size and v.status == "online" for v in volumes)
        where = resolve(volumes, "/vs2/data/some/dir")
        assert (where.volume.host_path, where.relative, where.snapshot) == (str(dirs["data"]), "some/dir", None)
        delete_volume(node.config, node.store, "/vs2/data")
        assert [v.name for v in backend.volumes()] == ["/vs1/conf"]
        with pytest.raises(NoSuchPath, match="No volume /vs2/data is configured"):
            resolve(backend.volumes(), "/vs2/data/some/dir")
    finally:
        node.close()


def test_a_writable_volume_may_not_hold_the_nodes_own_files(tmp_path, setup):
    """A restore into it could overwrite the state store, the control socket or cartridges
    under the running daemon; read-only (backups only), it may."""
    config, store = setup
    storage = config.libraries[0].storage
    storage.mkdir(parents=True, exist_ok=True)
    for path, what in ((tmp_path, "its state store"), (storage.parent, "the cartridges of library lib0"),
                       (storage / "TST000L8", "the cartridges of library lib0")):
        path.mkdir(exist_ok=True)
        with pytest.raises(VolumeError, match=rf"holds this node's own files \({what}, .*--read-only"):
            create_volume(config, store, "/vs1/own", str(path))
    assert create_volume(config, store, "/vs1/own", str(storage.parent), read_only=True).read_only
    error = refused(tmp_path, f'[[volume]]\nname = "/vs1/all"\npath = "{tmp_path}"\n')
    assert "holds this node's own files (its state store" in str(error) and "read_only = true" in error.fix
    assert [v.name for v in parse(tmp_path, f'[[volume]]\nname = "/vs1/all"\npath = "{tmp_path}"\n'
                                            'read_only = true\n')] == ["/vs1/all"]
