"""Theme files: validation problems are reported clearly; the choice is remembered safely."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workbench.core import paths
from workbench.core.themes import (
    ThemeError,
    is_colour,
    load_all_themes,
    load_theme_dir,
    load_theme_file,
    parse_theme,
    remember_theme,
    remembered_theme,
    shipped_themes_dir,
)

VALID = """
name = "sea"
dark = false
primary = "#1e90ff"
background = "#fafafa"
foreground = "#222"
accent = "#ff8800"
text_alpha = 0.9
[variables]
footer-key-foreground = "#1e90ff"
input-selection-background = "#1e90ff 30%"
block-cursor-text-style = "bold underline"
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_parses_into_spec() -> None:
    spec = parse_theme(VALID, source="sea.toml")
    assert spec.name == "sea"
    assert spec.dark is False
    assert (spec.primary, spec.background, spec.foreground) == ("#1e90ff", "#fafafa", "#222")
    assert spec.accent == "#ff8800"
    assert spec.secondary is None
    assert spec.text_alpha == 0.9
    assert spec.luminosity_spread == 0.15
    assert spec.variables["input-selection-background"] == "#1e90ff 30%"
    assert spec.source == "sea.toml"


def test_shipped_themes_all_load_without_problems() -> None:
    loaded = load_theme_dir(shipped_themes_dir())
    assert loaded.problems == ()
    names = {spec.name: spec for spec in loaded.themes}
    assert {"mlxbench-dark", "mlxbench-light", "mlxbench-ember"} <= set(names)
    assert names["mlxbench-light"].dark is False
    assert names["mlxbench-dark"].dark is True


def test_missing_required_keys_are_all_named() -> None:
    with pytest.raises(ThemeError) as err:
        parse_theme('primary = "#123456"', source="half.toml")
    message = str(err.value)
    assert message.startswith("half.toml: ")
    for key in ("name", "background", "foreground"):
        assert f"missing required key '{key}'" in message
    assert "'primary'" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('accent = "blue"', "accent = 'blue' is not a colour"),
        ('accent = "#12345"', "accent = '#12345' is not a colour"),
        ('accent = "#gggggg"', "accent = '#gggggg' is not a colour"),
        ('accent = "rgb(1,2,3)"', "is not a colour"),
        ("accent = 255", "accent = 255 is not a colour"),
        ('dark = "yes"', "dark must be true or false"),
        ("text_alpha = 2", "text_alpha must be a number from 0 to 1"),
        ('primery = "#123456"', "unknown key 'primery'"),
        ('variables = "x"', "[variables] must be a table"),
        ('variables = { border = "#12 50%" }', "variable 'border'"),
        ('variables = { border = "red; color: blue" }', "variable 'border'"),
        ('variables = { Bad_Name = "#123456" }', "variable name 'Bad_Name'"),
        ("variables = { border = 3 }", "variable 'border' must be a string"),
    ],
)
def test_bad_values_are_reported(line: str, expected: str) -> None:
    base = 'name = "t"\nprimary = "#123456"\nbackground = "#000"\nforeground = "#fff"\n'
    with pytest.raises(ThemeError, match="t.toml: .*" + re.escape(expected)):
        parse_theme(base + line, source="t.toml")


@pytest.mark.parametrize("name", ["Has Space", "UPPER", "", "-lead", "a" * 49, "semi;colon"])
def test_theme_names_must_be_css_safe(name: str) -> None:
    text = f'name = "{name}"\nprimary = "#123456"\nbackground = "#000"\nforeground = "#fff"\n'
    with pytest.raises(ThemeError, match=r"name .* must be lowercase"):
        parse_theme(text)


def test_bad_toml_is_reported_with_location() -> None:
    with pytest.raises(ThemeError, match=r"broken.toml: not valid TOML: .*line 2"):
        parse_theme('name = "x"\nprimary = = 3', source="broken.toml")


def test_is_colour_is_strict() -> None:
    assert is_colour("#abc") and is_colour("#A1b2C3")
    for value in ("abc", "#abcd", "#abcdef00", "red", " #abc", "#abc ", None, 123):
        assert not is_colour(value)


def test_directory_loads_good_files_and_reports_bad_ones(tmp_path: Path) -> None:
    folder = tmp_path / "themes"
    write(folder, "a-good.toml", VALID)
    bad_colour = write(folder, "b-colour.toml", VALID.replace('"#fafafa"', '"white"'))
    bad_toml = write(folder, "c-toml.toml", "name = = 3")
    duplicate = write(folder, "d-dup.toml", VALID)
    (folder / "e-binary.toml").write_bytes(b"\xff\xfe\x00bad")
    write(folder, "notes.txt", "ignored: not a .toml file")

    loaded = load_theme_dir(folder)

    assert [spec.name for spec in loaded.themes] == ["sea"]
    problems = loaded.problems
    assert len(problems) == 4
    assert problems[0].startswith(str(bad_colour)) and "background = 'white'" in problems[0]
    assert problems[1].startswith(str(bad_toml)) and "not valid TOML" in problems[1]
    assert problems[2].startswith(str(duplicate)) and "also used by" in problems[2]
    assert "not UTF-8" in problems[3]


def test_missing_directory_is_simply_empty(tmp_path: Path) -> None:
    loaded = load_theme_dir(tmp_path / "nope")
    assert loaded.themes == () and loaded.problems == ()


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.toml", VALID + "#" * 70_000)
    with pytest.raises(ThemeError, match=r"larger than 64\.0 KB"):
        load_theme_file(path)


def test_user_themes_join_shipped_ones_and_may_replace_them() -> None:
    write(paths.user_themes_dir(), "sea.toml", VALID)
    override = VALID.replace('name = "sea"', 'name = "mlxbench-dark"')
    write(paths.user_themes_dir(), "mine.toml", override)
    loaded = load_all_themes()
    names = [spec.name for spec in loaded.themes]
    assert names.count("mlxbench-dark") == 1
    assert {"sea", "mlxbench-light", "mlxbench-ember"} <= set(names)
    replaced = next(spec for spec in loaded.themes if spec.name == "mlxbench-dark")
    assert replaced.source.endswith("mine.toml")


def test_remember_theme_keeps_other_keys_and_leaves_no_temp_files() -> None:
    state = paths.state_file()
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"last_model": "minilm", "window": {"w": 3}}))
    assert remembered_theme() is None

    remember_theme("mlxbench-ember")

    data = json.loads(state.read_text())
    assert data == {"last_model": "minilm", "window": {"w": 3}, "theme": "mlxbench-ember"}
    assert remembered_theme() == "mlxbench-ember"
    assert [p.name for p in state.parent.iterdir()] == ["state.json"]


def test_remember_theme_creates_the_file_and_survives_a_corrupt_one() -> None:
    assert remembered_theme() is None
    remember_theme("nord")
    assert remembered_theme() == "nord"
    paths.state_file().write_text("{not json")
    assert remembered_theme() is None
    remember_theme("gruvbox")
    assert json.loads(paths.state_file().read_text()) == {"theme": "gruvbox"}


def test_remembered_theme_ignores_wrong_types() -> None:
    paths.state_file().parent.mkdir(parents=True)
    paths.state_file().write_text(json.dumps({"theme": 42}))
    assert remembered_theme() is None
    paths.state_file().write_text(json.dumps(["theme", "nord"]))
    assert remembered_theme() is None
