"""Writing tape configuration files, and reading back what was written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tapeconf import (
    COMPRESSION_TYPES,
    DensitySetting,
    TapeConfig,
    format_timeout,
    get_bundled,
    parse_tape_config,
    render_tape_config,
)


def ascii_text(max_size: int) -> st.SearchStrategy[str]:
    """What a value may hold: printable ASCII without a double quote."""
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"')
    return st.text(alphabet, min_size=1, max_size=max_size)


settings = st.builds(DensitySetting, ascii_text(24), st.integers(0, 0xFF), st.integers(0, 0xFF))
timeouts = st.dictionaries(
    st.integers(0, 0xFF),
    st.integers(1, 10**9).map(lambda ms: ms / 1000),
    max_size=6,
)


@st.composite
def tape_configs(draw: st.DrawFn) -> TapeConfig:
    product_id = draw(ascii_text(16))
    pretty = draw(st.none() | st.tuples(ascii_text(16), ascii_text(16)))
    vendor_pretty, product_pretty = pretty if pretty else (None, None)
    return TapeConfig(
        vendor_id=draw(ascii_text(8)),
        product_id=product_id,
        id_match_size=draw(st.integers(1, len(product_id))),
        vendor_pretty=vendor_pretty,
        product_pretty=product_pretty,
        settings={c: draw(settings) for c in COMPRESSION_TYPES},
        autoload=draw(st.booleans()),
        cmd_timeouts=draw(timeouts),
        source="generated.tcf",
    )


@given(tape_configs())
def test_render_then_parse_gives_the_same_config(config: TapeConfig) -> None:
    text = render_tape_config(config)
    assert parse_tape_config(text, "generated.tcf") == config


@given(tape_configs(), st.text(max_size=80))
def test_header_is_only_comments(config: TapeConfig, header: str) -> None:
    assert parse_tape_config(render_tape_config(config, header)) == config


def test_seed_example_renders_in_seed_order(seed_hp_lto5: str) -> None:
    text = render_tape_config(parse_tape_config(seed_hp_lto5))
    assert text.splitlines() == [line for line in seed_hp_lto5.splitlines() if line]


def test_render_writes_timeouts_in_the_largest_exact_unit() -> None:
    text = render_tape_config(get_bundled("IBM_LTO8"))
    assert text.endswith(
        "cmd_timeout_0x01=10m\n"
        "cmd_timeout_0x19=54896s\n"
        "cmd_timeout_0x1b=16m\n"
        "cmd_timeout_0x2b=48m\n"
    )


def test_format_timeout() -> None:
    assert format_timeout(600) == "10m"
    assert format_timeout(90) == "90s"
    assert format_timeout(0.5) == "500ms"
    assert format_timeout(61.001) == "61001ms"


def test_render_header_comment(seed_hp_lto5: str) -> None:
    text = render_tape_config(parse_tape_config(seed_hp_lto5), "HP LTO-5\n\nfrom the seed")
    assert text.startswith("# HP LTO-5\n#\n# from the seed\n\nvendor_id=\"HP\"\n")
