"""Mangled tape configuration files: each is refused with a TapeConfigError; no other
exception escapes the parser."""
from __future__ import annotations

import random
from importlib import resources

from support.fuzz import mutate_text

from tapeconf import TapeConfigError, parse_tape_config

MUTATIONS = 3000


def test_mangled_tape_configuration_files_are_refused_with_a_tape_config_error() -> None:
    drives = resources.files("tapeconf").joinpath("drives")
    texts = sorted((p.name, p.read_text(encoding="utf-8")) for p in drives.iterdir() if p.is_file())
    assert texts
    rng = random.Random(20261124)
    parsed = 0
    for _ in range(MUTATIONS):
        name, text = rng.choice(texts)
        try:
            parse_tape_config(mutate_text(rng, text), name)
            parsed += 1
        except TapeConfigError as e:
            assert str(e).strip()
    assert parsed > MUTATIONS // 20
