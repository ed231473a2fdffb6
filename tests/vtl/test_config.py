"""The node configuration file (vtl/config.py) and its embedded default."""
from __future__ import annotations

import os
import re
import socket
import time
import tomllib
from pathlib import Path

import pytest

from images.cartridge.media import MEDIA
from tapeconf import get_bundled
from tapeconf.aliases import parse_mapping, ppn, serial_mapping
from vtl import config
from vtl.config import (
    CartridgeSpec,
    ChangerSpec,
    ConfigError,
    DriveSpec,
    ElementAddresses,
    NodeConfig,
    default_path,
    default_text,
    dumps,
    ensure_default,
    load,
    loads,
)

BASE = Path("/srv/vtl")
SOURCE = BASE / "vtl.toml"

MINIMAL = '''\
[[library]]
name = "lib0"
slots = 24

[library.changer]
serial = "CH0"

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR1"

[[library.cartridge]]
barcodes = "VTL000L8-VTL009L8"
'''


def parse(text: str, base: Path = BASE) -> NodeConfig:
    return loads(text, base=base, source=base / "vtl.toml")


def refused(text: str, base: Path = BASE) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text, base)
    return info.value


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def assert_names(error: ConfigError, *words: str) -> None:
    """The message names the file, the key and the fix (and any other words given)."""
    message = str(error)
    assert message.startswith(str(SOURCE)), message
    assert "Fix: " in message, message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# -- the embedded default -------------------------------------------------------------------


def test_default_loads_with_the_documented_numbers() -> None:
    cfg = parse(default_text())
    assert cfg.state == BASE / "state.sqlite"
    assert cfg.socket == BASE / "vtl.sock"
    assert cfg.socket_mode == 0o660
    assert cfg.name == socket.gethostname()
    assert set(cfg.extra) == {"ndmp"}          # vtl/ndmp_config.py reads it (tests/vtl/test_ndmp_config.py)
    (lib,) = cfg.libraries
    assert lib.name == "lib0"
    assert lib.storage == BASE / "cartridges" / "lib0"
    assert (lib.slots, lib.mailslots) == (24, 4)
    assert lib.addresses == ElementAddresses(1, 16, 256, 4096)
    assert (lib.changer.vendor, lib.changer.product, lib.changer.lun) == ("IBM", "3573-TL", 0)
    assert len(lib.drives) == 4
    assert [d.personality for d in lib.drives] == ["IBM_LTO8"] * 4
    assert [d.lun for d in lib.drives] == [1, 2, 3, 4]
    assert lib.drive_addresses() == [256, 257, 258, 259]
    assert lib.slot_addresses() == range(4096, 4120)
    assert lib.mailslot_addresses() == range(16, 20)
    assert len(lib.cartridges) == 20
    media = [c.media for c in lib.cartridges]
    assert media.count("LTO8") == 18 and media.count("LTO8-WORM") == 1 and media.count("CLN") == 1
    assert all(c.capacity is None for c in lib.cartridges)
    assert [c.slot for c in lib.cartridges] == list(range(4096, 4116))
    assert len({c.barcode for c in lib.cartridges}) == 20
    serials = [lib.changer.serial] + [d.serial for d in lib.drives]
    assert len(set(serials)) == 5


def test_default_is_a_commented_template() -> None:
    text = default_text()
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 30
    assert "addresses = {" in text  # the optional keys are shown, commented out


def test_default_is_package_data() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "default_config.toml" in pyproject["tool"]["setuptools"]["package-data"]["vtl"]


def test_default_path_follows_vtl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VTL_HOME", str(tmp_path))
    assert default_path() == tmp_path / "vtl.toml"


def test_ensure_default_writes_once_and_never_overwrites(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VTL_HOME", str(tmp_path / "home"))
    path = ensure_default()
    assert path == tmp_path / "home" / "vtl.toml"
    first = path.read_text()
    cfg = load(path)
    assert cfg.source == path
    assert cfg.state == path.parent / "state.sqlite"
    path.write_text(first + "\n# edited by the operator\n")
    assert ensure_default() == path
    assert path.read_text().endswith("# edited by the operator\n")
    assert [p.name for p in path.parent.iterdir()] == ["vtl.toml"]  # no temporary left


def test_ensure_default_gives_each_node_its_own_serials(tmp_path: Path) -> None:
    one = load(ensure_default(tmp_path / "a" / "vtl.toml")).libraries[0]
    two = load(ensure_default(tmp_path / "b" / "vtl.toml")).libraries[0]
    serials_one = {one.changer.serial, *(d.serial for d in one.drives)}
    serials_two = {two.changer.serial, *(d.serial for d in two.drives)}
    assert len(serials_one) == len(serials_two) == 5
    assert not serials_one & serials_two
    assert all(re.fullmatch(r"VTL[0-9A-F]{6}[CD][0-9]", s) for s in serials_one)
    # Only the serials changed: the rest is the template, comments and all.
    written = (tmp_path / "a" / "vtl.toml").read_text()
    assert re.sub(r"VTL[0-9A-F]{6}([CD])", r"VTL000000\1", written) == default_text()


def test_ensure_default_leaves_an_existing_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "vtl.toml"
    path.write_text("not even TOML [")
    assert ensure_default(path) == path
    assert path.read_text() == "not even TOML ["


# -- a minimal file, and the defaults it gets ----------------------------------------------


def test_minimal_file() -> None:
    cfg = parse(MINIMAL)
    assert cfg.source == SOURCE
    (lib,) = cfg.libraries
    assert lib.storage == BASE / "cartridges" / "lib0"
    assert lib.mailslots == 0
    assert lib.changer == ChangerSpec("IBM", "3573-TL", "F.11", "CH0", 0)
    assert lib.drives == (DriveSpec("IBM_LTO8", "DR1", 1, 256),)
    assert lib.cartridges[0] == CartridgeSpec("VTL000L8", "LTO8", None, 4096)
    assert lib.cartridges[-1] == CartridgeSpec("VTL009L8", "LTO8", None, 4105)


def test_luns_default_to_the_next_free_ones() -> None:
    text = MINIMAL + '''
[[library.drive]]
personality = "IBM_LTO8"
serial = "DR2"
lun = 1

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR3"
'''
    lib = parse(text).libraries[0]
    assert lib.changer.lun == 0
    assert [d.lun for d in lib.drives] == [2, 1, 3]


def test_personality_names_are_case_insensitive_and_canonical() -> None:
    lib = parse(edit('"IBM_LTO8"', '"ibm_lto8.tcf"')).libraries[0]
    assert lib.drives[0].personality == "IBM_LTO8"
    assert lib.drives[0].tape_config() == get_bundled("IBM_LTO8")


def test_personality_from_a_tcf_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "drives").mkdir()
    (tmp_path / "drives" / "MINE.tcf").write_text(
        (Path(__file__).parents[2] / "tapeconf" / "drives" / "IBM_LTO5.tcf").read_text())
    lib = parse(edit('"IBM_LTO8"', '"drives/MINE.tcf"'), tmp_path).libraries[0]
    drive = lib.drives[0]
    assert drive.personality == str(tmp_path / "drives" / "MINE.tcf")
    assert drive.personality_is_file
    assert drive.tape_config().product_id == get_bundled("IBM_LTO5").product_id


def test_a_drive_that_cannot_write_the_media_is_not_a_config_error() -> None:
    lib = parse(edit('"IBM_LTO8"', '"IBM_LTO5"')).libraries[0]
    assert lib.cartridges[0].media == "LTO8"


def test_cartridge_options() -> None:
    text = MINIMAL + '''
[[library.cartridge]]
barcodes = ["CLN000CU", "ABC100-ABC102"]
media = "lto-7"
slot = 20
'''
    with pytest.raises(ConfigError):      # CLN000CU is a cleaning label, media is LTO7
        parse(text)
    text = MINIMAL + '''
[[library.cartridge]]
barcodes = ["ABC099", "ABC100-ABC102"]
media = "lto-7"
capacity = "64MiB"
slot = 20

[[library.cartridge]]
barcode = "CLN000CU"

[[library.cartridge]]
barcode = "TEST01L8"
capacity = 1048576
'''
    lib = parse(text).libraries[0]
    by_barcode = {c.barcode: c for c in lib.cartridges}
    assert [by_barcode[b].slot - 4095 for b in ("ABC099", "ABC100", "ABC101", "ABC102")] == [
        20, 21, 22, 23]
    assert by_barcode["ABC101"].media == "LTO7"
    assert by_barcode["ABC101"].capacity == 64 * 1024 * 1024
    assert by_barcode["CLN000CU"].slot == 4096 + 10       # the first free slot, 11
    assert by_barcode["TEST01L8"] == CartridgeSpec("TEST01L8", "LTO8", 1048576, 4096 + 11)


def test_automatic_slots_fill_around_explicit_ones() -> None:
    text = edit('barcodes = "VTL000L8-VTL009L8"', 'barcodes = "VTL000L8-VTL009L8"\nslot = 3')
    text += '\n[[library.cartridge]]\nbarcodes = "VTL100L8-VTL104L8"\n'
    lib = parse(text).libraries[0]
    slots = {c.barcode: c.slot - 4095 for c in lib.cartridges}
    assert [slots[f"VTL{n:03d}L8"] for n in range(100, 105)] == [1, 2, 13, 14, 15]


def test_paths(tmp_path: Path) -> None:
    text = '[node]\nstate = "/var/lib/vtl/state.sqlite"\nsocket = "run/vtl.sock"\n' + edit(
        'slots = 24', 'slots = 24\nstorage = "~/tapes"')
    cfg = parse(text)
    assert cfg.state == Path("/var/lib/vtl/state.sqlite")
    assert cfg.socket == BASE / "run" / "vtl.sock"
    assert cfg.libraries[0].storage == Path("~/tapes").expanduser()


@pytest.mark.parametrize(("value", "mode"), [
    ('"0660"', 0o660), ('"660"', 0o660), ('"0o600"', 0o600), ("0o640", 0o640), ("420", 0o644),
])
def test_socket_mode_forms(value: str, mode: int) -> None:
    assert parse(f"[node]\nsocket_mode = {value}\n" + MINIMAL).socket_mode == mode


def test_other_top_level_tables_are_kept_verbatim() -> None:
    text = MINIMAL + '''
[ndmp]
port = 10000
users = [{ name = "root", password = "x" }]

[[targets]]
iqn = "iqn.2024-01.org.example:lib0"
'''
    cfg = parse(text)
    assert cfg.extra == {"ndmp": {"port": 10000, "users": [{"name": "root", "password": "x"}]},
                         "targets": [{"iqn": "iqn.2024-01.org.example:lib0"}]}


def test_library_lookup() -> None:
    cfg = parse(MINIMAL)
    assert cfg.library("LIB0") is cfg.libraries[0]
    with pytest.raises(KeyError):
        cfg.library("lib9")


def test_aliases_for_configured_devices() -> None:
    lib = parse(MINIMAL).libraries[0]
    assert parse_mapping(serial_mapping(lib.drives[0].serial, lib.drives[0].lun)).serial == "DR1"
    assert ppn(lib.name, 0, 1, lib.drives[0].lun) == "lib0:0.1L1"


def test_ten_thousand_slots_nine_thousand_cartridges() -> None:
    text = '''
[[library]]
name = "big"
slots = 10000

[library.changer]
serial = "BIG0"

[[library.cartridge]]
barcodes = "A00000L8-A08999L8"
'''
    started = time.perf_counter()
    lib = parse(text).libraries[0]
    elapsed = time.perf_counter() - started
    assert len(lib.cartridges) == 9000
    assert lib.cartridges[-1] == CartridgeSpec("A08999L8", "LTO8", None, 4096 + 8999)
    assert lib.slot_addresses() == range(4096, 14096)
    print(f"9,000 cartridges in {elapsed * 1000:.0f} ms")


def test_largest_library_that_fits_the_addresses() -> None:
    text = edit("slots = 24", "slots = 61440")
    assert parse(text).libraries[0].slot_addresses()[-1] == 0xFFFF


# -- round trips -------------------------------------------------------------------------


def test_default_round_trips() -> None:
    cfg = parse(default_text())
    assert parse(dumps(cfg)) == cfg


def test_rich_config_round_trips(tmp_path: Path) -> None:
    (tmp_path / "MINE.tcf").write_text(
        (Path(__file__).parents[2] / "tapeconf" / "drives" / "HP_LTO5.tcf").read_text())
    text = '''
[node]
name = "n1"
state = "/var/lib/vtl/state.sqlite"
socket_mode = "0600"

[[library]]
name = "lib0"
slots = 40
mailslots = 2
addresses = { transport = 0, import_export = 10, data_transfer = 100, storage = 1000 }

[library.changer]
vendor = "STK"
product = "L700"
revision = "0100"
serial = "CH0"
lun = 3

[[library.drive]]
personality = "MINE.tcf"
serial = "DR1"
lun = 0

[[library.cartridge]]
barcodes = ["VTL000L8-VTL004L8", "VTL010L8", "VTL011L8", "XYZ"]
media = "LTO8"
capacity = "64MiB"
slot = 7

[[library.cartridge]]
barcodes = "VTL020LY-VTL022LY"

[[library.cartridge]]
barcode = "CLN000CU"
slot = 40

[[library]]
name = "lib1"
slots = 5

[library.changer]
serial = "CH1"

[ndmp]
port = 10000
weird = { "a key" = [1, 2.5, true, "x\\"y"], when = 1979-05-27T07:32:00Z }

[[targets]]
iqn = "iqn.x"
'''
    cfg = parse(text, tmp_path)
    again = parse(dumps(cfg), tmp_path)
    assert again == cfg
    assert again.libraries[0].drives[0].personality == str(tmp_path / "MINE.tcf")
    assert "VTL000L8-VTL004L8" in dumps(cfg)


# -- every refusal ---------------------------------------------------------------------


def test_not_toml() -> None:
    error = refused(MINIMAL + "\nslots = \n")
    assert error.line == 15
    assert_names(error, "line 15", "not valid TOML")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "vtl.toml"
    path.write_bytes(MINIMAL.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="line 14.*not UTF-8.*Fix: save the file as UTF-8"):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no configuration file.*Fix: check the path"):
        load(tmp_path / "nope.toml")


def test_unknown_key_suggests_the_right_one() -> None:
    error = refused(edit("slots = 24", "slots = 24\nmailslot = 2"))
    assert (error.key, error.line) == ("mailslot", 4)
    assert_names(error, "key mailslot", "not a key of [[library]]", "write mailslots")


def test_unknown_key_lists_the_keys() -> None:
    error = refused(edit('serial = "DR1"', 'serial = "DR1"\ncolour = "blue"'))
    assert_names(error, "key colour", "[[library.drive]] number 1 of library \"lib0\"",
                 "personality, serial, lun")


def test_unknown_table_suggests_the_right_one() -> None:
    error = refused(edit("[[library.drive]]", "[[library.drives]]"))
    assert_names(error, "key drives", "write drive")


def test_keys_are_lower_case() -> None:
    assert_names(refused(edit("slots = 24", "Slots = 24")), "key Slots", "write slots")


def test_misspelt_top_level_table() -> None:
    error = refused(MINIMAL + '\n[nodes]\nname = "x"\n')
    assert_names(error, "key nodes", "[nodes] is not a table", "write [node]")
    assert error.line == 15


def test_key_outside_any_table() -> None:
    error = refused('name = "vtl1"\n' + MINIMAL)
    assert_names(error, "key name", "outside any table", "move name under [node]")
    assert error.line == 1


def test_library_must_be_an_array_of_tables() -> None:
    text = MINIMAL.replace("[[library]]", "[library]").replace("[[library.", "[library.")
    text = text.replace("[library.drive]]", "[library.drive]").replace(
        "[library.cartridge]]", "[library.cartridge]")
    assert_names(refused(text), "single table", "write [[library]]")


def test_no_library() -> None:
    assert_names(refused('[node]\nname = "x"\n'), "no library", "add a [[library]]")


@pytest.mark.parametrize(("old", "key"), [
    ('name = "lib0"\n', "name"),
    ("slots = 24\n", "slots"),
    ('personality = "IBM_LTO8"\n', "personality"),
    ('serial = "DR1"\n', "serial"),
    ('serial = "CH0"\n', "serial"),
])
def test_missing_required_key(old: str, key: str) -> None:
    error = refused(edit(old, ""))
    assert error.key == key
    assert_names(error, f"key {key}", f"{key} is missing", f"add {key} = ")


def test_missing_changer() -> None:
    error = refused(edit('[library.changer]\nserial = "CH0"\n', ""))
    assert_names(error, "key changer", "changer is missing", "add [library.changer]")


def test_missing_barcode() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"\n', 'media = "LTO8"\n'))
    assert_names(error, "[[library.cartridge]] number 1", "needs barcode", 'barcode = "CLN000CU"')


@pytest.mark.parametrize(("old", "new", "key", "wanted"), [
    ("slots = 24", 'slots = "24"', "slots", "a whole number"),
    ("slots = 24", "slots = true", "slots", "a whole number"),
    ("slots = 24", "slots = 2.5", "slots", "a whole number"),
    ('serial = "DR1"', "serial = 1", "serial", "a string"),
    ('name = "lib0"', "name = [1]", "name", "a string"),
])
def test_wrong_type(old: str, new: str, key: str, wanted: str) -> None:
    error = refused(edit(old, new))
    assert_names(error, f"key {key}", f"{key} must be {wanted}", "Fix: write it like")


@pytest.mark.parametrize("name", ["lib 0", "0lib", "lib/0", "a" * 33, "", "lib.0"])
def test_library_name_must_be_safe(name: str) -> None:
    error = refused(edit('"lib0"', f'"{name}"'))
    assert_names(error, "key name", "cannot be a library name", 'like name = "lib0"')


def test_library_names_are_unique_regardless_of_case() -> None:
    second = MINIMAL.replace('"lib0"', '"LIB0"').replace('"CH0"', '"CH1"').replace(
        '"DR1"', '"DR2"').replace("VTL0", "VTL1")
    error = refused(MINIMAL + "\n" + second)
    assert_names(error, '[[library]] "LIB0"', "key name", "also the name of library number 1",
                 "give each library its own name")


def test_storage_directories_are_unique() -> None:
    second = '''
[[library]]
name = "lib1"
slots = 5
storage = "cartridges/lib0"

[library.changer]
serial = "CH1"
'''
    assert_names(refused(MINIMAL + second), "key storage", "also the storage directory",
                 "its own directory")


def test_serials_are_unique_across_the_node() -> None:
    second = '''
[[library]]
name = "lib1"
slots = 5

[library.changer]
serial = "dr1"
'''
    error = refused(MINIMAL + second)
    assert_names(error, "[library.changer] of library \"lib1\"", "key serial",
                 'drive number 1 of library "lib0"', "its own serial number")


def test_serial_of_33_characters_is_refused() -> None:
    error = refused(edit('"DR1"', '"' + "D" * 33 + '"'))
    assert_names(error, "key serial", "33 characters", "at most 32", "use 1 to 32 letters")


def test_serial_must_be_alphanumeric() -> None:
    error = refused(edit('"CH0"', '"CH-0"'))
    assert_names(error, "key serial", "letters and digits only", 'serial = "VTL')


def test_lun_must_be_unique() -> None:
    error = refused(edit('serial = "DR1"', 'serial = "DR1"\nlun = 0').replace(
        'serial = "CH0"', 'serial = "CH0"\nlun = 0'))
    assert_names(error, "key lun", "LUN 0 is also the LUN of the changer", "its own LUN")


@pytest.mark.parametrize("lun", [-1, 256])
def test_lun_range(lun: int) -> None:
    error = refused(edit('serial = "DR1"', f'serial = "DR1"\nlun = {lun}'))
    assert_names(error, "key lun", "0 to 255", "lun = 1")


def test_something_must_be_on_lun_0() -> None:
    error = refused(edit('serial = "DR1"', 'serial = "DR1"\nlun = 2').replace(
        'serial = "CH0"', 'serial = "CH0"\nlun = 1'))
    assert_names(error, "LUN 0", "key lun", "put the changer or one drive on LUN 0")


def test_unknown_personality() -> None:
    error = refused(edit('"IBM_LTO8"', '"IBM_LTO88"'))
    assert_names(error, "key personality", 'no bundled tape drive personality named "IBM_LTO88"',
                 "IBM_LTO8", ".tcf file")


def test_missing_personality_file() -> None:
    error = refused(edit('"IBM_LTO8"', '"drives/mine.tcf"'))
    assert_names(error, "key personality", str(BASE / "drives" / "mine.tcf"),
                 "check the path")


def test_invalid_personality_file(tmp_path: Path) -> None:
    (tmp_path / "bad.tcf").write_text('vendor_id="X"\nproduct_id="Y"\nid_match_size=1\n'
                                      "colour=blue\n")
    error = refused(edit('"IBM_LTO8"', '"bad.tcf"'), tmp_path)
    message = str(error)
    assert "key personality" in message
    assert f"{tmp_path / 'bad.tcf'}, line 4" in message   # tapeconf's own place ...
    assert "colour is not a key" in message                # ... and its own words
    assert error.fix                                       # and its fix


def test_changer_inquiry_fields() -> None:
    error = refused(edit('serial = "CH0"', 'serial = "CH0"\nproduct = "A PRODUCT NAME TOO LONG"'))
    assert_names(error, "key product", "INQUIRY product", "1 to 16 printable ASCII")


def test_element_ranges_must_not_overlap() -> None:
    error = refused(edit("slots = 24", "slots = 24\nmailslots = 250"))
    assert_names(error, "key addresses", "import/export slots (16-265)", "(256)", "overlap",
                 "addresses.import_export or addresses.data_transfer")


def test_element_ranges_must_fit_16_bits() -> None:
    error = refused(edit("slots = 24", "slots = 61441"))
    assert_names(error, "key slots", "past the last element address, 65535",
                 "at most slots = 61440")
    error = refused(edit("slots = 24", "slots = 24\naddresses = { storage = 70000 }"))
    assert_names(error, "key storage", "0 to 65535")
    assert error.line == 4


def test_mailslots_limit() -> None:
    text = edit("slots = 24", "slots = 24\nmailslots = 257\n"
                "addresses = { import_export = 1000, storage = 4096 }")
    assert_names(refused(text), "key mailslots", "0 to 256", "mailslots = 4")


def test_at_least_one_slot() -> None:
    text = edit("slots = 24", "slots = 0").replace('barcodes = "VTL000L8-VTL009L8"\n', "")
    text = text.replace("[[library.cartridge]]\n", "")
    assert_names(refused(text), "key slots", "at least one", "slots = 24")


def test_65_drives_refused() -> None:
    drives = "".join(f'\n[[library.drive]]\npersonality = "IBM_LTO8"\nserial = "X{n}"\n'
                     for n in range(64))
    error = refused(MINIMAL + drives)
    assert_names(error, "[[library.drive]] number 65", "at most 64 tape drives",
                 "remove tape drives")
    assert len(parse(MINIMAL + drives.rsplit("\n[[library.drive]]", 1)[0]).libraries[0].drives) == 64


def test_17_libraries_refused() -> None:
    libraries = "".join(f'[[library]]\nname = "l{n}"\nslots = 1\n[library.changer]\n'
                        f'serial = "C{n}"\n' for n in range(17))
    error = refused(libraries)
    assert_names(error, "[[library]] number 17", "17 libraries", "at most 16 medium changers",
                 "remove libraries")
    assert len(parse(libraries.rsplit("[[library]]", 1)[0]).libraries) == 16


def test_too_many_cartridges() -> None:
    error = refused(edit("VTL009L8", "VTL029L8"))
    assert error.message == 'library "lib0" has 24 storage slots but 30 cartridges are configured.'
    assert error.fix == "add slots = 30 or remove cartridges."
    assert_names(error, "key slots")


def test_barcodes_are_unique_across_the_node() -> None:
    second = '''
[[library]]
name = "lib1"
slots = 5

[library.changer]
serial = "CH1"

[[library.cartridge]]
barcode = "VTL005L8"
'''
    error = refused(MINIMAL + second)
    assert_names(error, "key barcode", '"VTL005L8" is also the barcode of a cartridge in library '
                 '"lib0"', "its own barcode")


@pytest.mark.parametrize(("barcodes", "words"), [
    ('"' + "A" * 33 + '"', "33 characters"),
    ('"vtl000l8"', "write VTL000L8"),
    ('"VTL_00L8"', "contains '_'"),
    ('"VTL009L8-VTL000L8"', "counts down"),
    ('"VTA000L8-VTB009L8"', "differ in letters"),
    ('"VTL000L8-VTL0009L8"', "different lengths"),
    ('[]', "array of strings"),
    ('[1, 2]', "array of strings"),
])
def test_bad_barcodes(barcodes: str, words: str) -> None:
    error = refused(edit('"VTL000L8-VTL009L8"', barcodes))
    assert_names(error, "key barcodes", words)
    assert "VTL000L8-VTL019L8" in error.fix or "VTL000L8-VTL019L8" in error.message


def test_barcode_takes_one() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"', 'barcode = "VTL000L8-VTL009L8"'))
    assert_names(error, "key barcode", "is a range", 'barcodes = "VTL000L8-VTL009L8"')


def test_unknown_media() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         'barcodes = "VTL000L8-VTL009L8"\nmedia = "LTO99"'))
    assert_names(error, "key media", '"LTO99" is not a media type', ", ".join(MEDIA))


def test_media_cannot_be_told_from_the_barcode() -> None:
    error = refused(edit('"VTL000L8-VTL009L8"', '"TAPE000-TAPE009"'))
    assert_names(error, "key media", "cannot be told from its label", 'add media = "LTO8"')


def test_cleaning_label_needs_cleaning_media() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         'barcode = "CLN001CU"\nmedia = "LTO8"'))
    assert_names(error, "key media", "cleaning cartridge label", 'write media = "CLN"')


def test_cleaning_media_needs_a_cleaning_label() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         'barcode = "TAPE01"\nmedia = "CLN"'))
    assert_names(error, "key media", "not a cleaning cartridge label", "CLN000CU")


@pytest.mark.parametrize(("value", "words", "fix"), [
    ('"64 furlongs"', "not a size", 'capacity = "64MiB"'),
    ("0", "0 bytes", 'capacity = "64MiB"'),
    ('"13TB"', "more than the native capacity of LTO8", "make it smaller"),
])
def test_bad_capacity(value: str, words: str, fix: str) -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         f'barcodes = "VTL000L8-VTL009L8"\ncapacity = {value}'))
    assert_names(error, "key capacity", words, fix)


def test_cleaning_cartridge_has_no_capacity() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         'barcode = "CLN001CU"\ncapacity = "1MiB"'))
    assert_names(error, "key capacity", "hold no data", "remove capacity")


def test_slot_must_exist() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         'barcodes = "VTL000L8-VTL009L8"\nslot = 25'))
    assert_names(error, "key slot", "slots 1 to 24", "write a slot from 1 to 24")


def test_cartridges_must_fit_from_their_slot() -> None:
    error = refused(edit('barcodes = "VTL000L8-VTL009L8"',
                         'barcodes = "VTL000L8-VTL009L8"\nslot = 20'))
    assert_names(error, "key slot", "need slots 20 to 29", "start them at slot 15 or lower")


def test_explicit_slots_must_not_collide() -> None:
    text = edit('barcodes = "VTL000L8-VTL009L8"', 'barcodes = "VTL000L8-VTL009L8"\nslot = 1')
    text += '\n[[library.cartridge]]\nbarcode = "VTL100L8"\nslot = 5\n'
    error = refused(text)
    assert_names(error, "[[library.cartridge]] number 2", "key slot", "slot 5 is also given",
                 "its own slots")


def test_socket_mode_must_be_a_mode() -> None:
    for value in ('"rw-rw----"', "660", '"0999"'):
        error = refused(f"[node]\nsocket_mode = {value}\n" + MINIMAL)
        assert_names(error, "[node]", "key socket_mode", 'socket_mode = "0660"')


def test_node_name() -> None:
    assert parse('[node]\nname = "vtl-node1.lab"\n' + MINIMAL).name == "vtl-node1.lab"
    error = refused('[node]\nname = "my node"\n' + MINIMAL)
    assert_names(error, "key name", "cannot be a node name", 'name = "vtl-node1"')


def test_config_error_parts() -> None:
    error = refused(edit('serial = "DR1"', 'serial = "DR1"\nlun = 300'))
    assert isinstance(error, ValueError)
    assert (error.source, error.line, error.key) == (str(SOURCE), 11, "lun")
    assert error.table == '[[library.drive]] number 1 of library "lib0"'
    assert str(error) == f"{error.where}: {error.message} Fix: {error.fix}"
    assert error.where == f'{SOURCE}, line 11, [[library.drive]] number 1 of library "lib0", key lun'


def test_loads_without_a_source() -> None:
    with pytest.raises(ConfigError, match="^<configuration>, line 3, "):
        loads(edit("slots = 24", 'slots = "x"'), base=BASE)
    assert loads(MINIMAL, base=BASE).source is None


def test_load_resolves_paths_against_the_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "vtl.toml").write_text(MINIMAL)
    monkeypatch.chdir(tmp_path)
    cfg = load(os.path.join("etc", "vtl.toml"))
    assert cfg.source == tmp_path / "etc" / "vtl.toml"
    assert cfg.state == tmp_path / "etc" / "state.sqlite"
    assert cfg.libraries[0].storage == tmp_path / "etc" / "cartridges" / "lib0"


def test_module_constants() -> None:
    assert (config.MAX_DRIVES, config.MAX_LIBRARIES, config.MAX_MAILSLOTS, config.MAX_LUN) == (
        64, 16, 256, 255)
