"""Mangled node configurations: every one is refused with a ConfigError (or, for the volume
tables, a VolumeError) naming what is wrong; nothing else escapes the readers."""
from __future__ import annotations

import random
from pathlib import Path

from support.fuzz import mutate_text

from vtl.config import ConfigError, default_text, loads
from vtl.ndmp_config import ndmp_config
from vtl.volumes import VolumeError, volume_config

MUTATIONS = 2000

EXTRA = """
[[ndmp.user]]
name = "backup"
role = "backup"

[[volume]]
name = "/vs1/vol1"
path = "vol1"

[[volume]]
name = "/vs1/vol2"
path = "vol2"
read_only = true
"""


def _full_text() -> str:
    """The embedded default with its commented NDMP settings switched on, a user and two
    volumes: every table the readers know."""
    text = default_text()
    for setting in ("authtype = [", "max_sessions = 8 ", 'tape_reservations = "off"', "data_buffers = 4"):
        assert f"# {setting}" in text, setting
        text = text.replace(f"# {setting}", setting)
    return text + EXTRA


def test_the_unmangled_text_is_a_valid_configuration(tmp_path: Path) -> None:
    (tmp_path / "vol1").mkdir()
    (tmp_path / "vol2").mkdir()
    node = loads(_full_text(), base=tmp_path, source=tmp_path / "vtl.toml")
    assert ndmp_config(node).users and len(volume_config(node)) == 2


def test_mangled_configurations_are_refused_with_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "vol1").mkdir()
    (tmp_path / "vol2").mkdir()
    rng = random.Random(20261124)
    text = _full_text()
    read = whole = 0
    for _ in range(MUTATIONS):
        mangled = mutate_text(rng, text)
        (tmp_path / "vtl.toml").write_text(mangled, encoding="utf-8", errors="surrogateescape")
        try:
            node = loads(mangled, base=tmp_path, source=tmp_path / "vtl.toml")
            read += 1
            ndmp_config(node)
            volume_config(node)
            whole += 1
        except (ConfigError, VolumeError) as e:
            assert str(e).strip(), mangled
    # Mutations also land where the file stays readable, and where every table does.
    assert read > MUTATIONS // 10 and whole > MUTATIONS // 20, (read, whole)
