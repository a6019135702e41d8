"""One command-line grammar (issue 16, item 5): the same spelling of each option on every subcommand, old spellings
as hidden aliases, and help that renders flags as flags and arguments as ``INPUT [OUTPUT]``."""

from __future__ import annotations

import re

import pytest

from realsr_cli.cli.main import SUBCOMMANDS, load_subcommand

MODELS = ["models list", "models fetch", "models interpolate"]
COMMANDS = [name for name in SUBCOMMANDS if name != "models"] + MODELS
# Subcommands that write a file or folder: each takes it as -o/--output (degrade, upscale: also positionally).
WRITERS = ["degrade", "learn-degradation", "make-pairs", "train-sr", "upscale", "compare", "export", "fuse"]
WRITERS += ["models interpolate"]
# A short option means the same long option wherever it appears.
SHORT = {"-o": "--output", "-m": "--model", "-s": "--scale", "-p": "--preset", "-q": "--quiet", "-r": "--recursive"}
# Options every subcommand that has the setting spells the same way (the parameter name -> its option strings).
COMMON = {
    "quiet": {"--quiet", "-q"},
    "overwrite": {"--overwrite"},
    "seed": {"--seed"},
    "device": {"--device"},
    "threads": {"--threads"},
    "scale": {"--scale", "-s"},
}


def _command(name: str):
    parts = name.split()
    command = load_subcommand(parts[0])
    return command.commands[parts[1]] if len(parts) > 1 else command


def _options(name: str) -> list:
    return [p for p in _command(name).params if p.param_type_name == "option"]


def _opt_strings(name: str) -> set[str]:
    return {s for p in _options(name) for s in p.opts + p.secondary_opts}


@pytest.mark.parametrize("name", COMMANDS)
def test_common_options_are_spelled_alike(name) -> None:
    options = _options(name)
    for param in options:
        if param.name in COMMON:
            assert set(param.opts) == COMMON[param.name], (name, param.name, param.opts)
    json = [p for p in options if "--json" in p.opts]
    assert all(p.opts == ["--json"] for p in json)
    if name not in ("models fetch", "models list", "profile", "score"):
        assert json or name == "models interpolate", f"{name}: no --json"
    strings = _opt_strings(name)
    for short, long in SHORT.items():
        if short in strings:
            owner = next(p for p in options if short in p.opts)
            assert long in owner.opts, f"{name}: {short} is {owner.opts}, not {long}"
    assert not strings & {"--out", "--patch"}, name


@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_takes_dash_o_output(name) -> None:
    output = [p for p in _options(name) if "--output" in p.opts]
    assert output and set(output[0].opts) == {"--output", "-o"}, name


def test_patch_size_and_model_are_one_spelling() -> None:
    for name in ("make-pairs", "train-sr", "learn-degradation"):
        assert "--patch-size" in _opt_strings(name), name
    for name in ("upscale", "profile"):
        assert {"--model", "-m"} <= _opt_strings(name), name
    assert "-m" not in _opt_strings("learn-degradation")  # --method: -m means --model everywhere


@pytest.mark.parametrize("name", ["", *SUBCOMMANDS, *MODELS])
def test_help_exits_0_and_reads_well(cli, name) -> None:
    result = cli(*name.split(), "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "<bool>" not in text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage
    assert all(word.strip("[].").isupper() for word in usage.split("[OPTIONS]")[-1].split()), usage
    assert not re.search(r"(?<![\w-])--out(?![\w-])|--patch(?![\w-])", text), "a hidden alias shows in help"


def test_usage_lines_read_input_output(cli) -> None:
    for name, usage in [
        ("upscale", "realsr upscale [OPTIONS] INPUT [OUTPUT]"),
        ("degrade", "realsr degrade [OPTIONS] INPUT [OUTPUT]"),
        ("score", "realsr score [OPTIONS] SR_DIR [GT_DIR]"),
        ("compare", "realsr compare [OPTIONS] REFERENCE METHODS..."),
    ]:
        assert usage in cli(name, "--help").output


def test_flags_render_without_a_value(cli) -> None:
    text = cli("upscale", "--help").output
    line = next(line for line in text.splitlines() if "--tta" in line)
    assert "<" not in line.split("x8 self-ensemble")[0], line
    assert "<int>" in next(line for line in text.splitlines() if "--tile-pad" in line)  # valued options keep it


def _png(tmp_path):
    from realsr_cli.io.images import write_image

    from .conftest import synthetic_image

    path = tmp_path / "in.png"
    write_image(path, synthetic_image(16, 20))
    return path


def test_upscale_output_positional_or_option(cli, tmp_path) -> None:
    src = _png(tmp_path)
    base = ["upscale", src, "--model", "bicubic", "-s", "2", "-q"]
    assert cli(*base[:2], tmp_path / "a.png", *base[2:]).exit_code == 0  # README: realsr upscale in/ out/ -s 4
    assert cli(*base, "-o", tmp_path / "b.png").exit_code == 0
    assert cli(*base, "--output", tmp_path / "c.png").exit_code == 0
    assert all((tmp_path / f"{n}.png").is_file() for n in "abc")
    both = cli(*base[:2], tmp_path / "d.png", *base[2:], "-o", tmp_path / "e.png")
    assert both.exit_code == 1 and "two outputs" in both.output
    neither = cli(*base)
    assert neither.exit_code == 1 and "missing the output" in neither.output
    assert not (tmp_path / "d.png").exists() and not (tmp_path / "e.png").exists()


def test_degrade_output_option(cli, tmp_path) -> None:
    src = _png(tmp_path)
    result = cli("degrade", src, "-o", tmp_path / "lr", "-s", "2", "-p", "bicubic", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lr" / "in.png").is_file()


def test_old_spellings_still_work(cli, tmp_path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    # learn-degradation: --out (now -o/--output), --patch (now --patch-size), -m (now --method); each reaches the
    # option's own validation, which runs before any work: the parser took the old spelling.
    result = cli("learn-degradation", photos, "--out", tmp_path / "learned", "--patch", "0")
    assert result.exit_code == 1 and "--patch-size 0: must be at least 1" in result.output, result.output
    result = cli("learn-degradation", photos, "--out", tmp_path / "learned", "-m", "bogus")
    assert result.exit_code == 1 and "--method bogus" in result.output, result.output
    result = cli("learn-degradation", photos, "--out=" + str(tmp_path / "learned"), "-mbogus")
    assert result.exit_code == 1 and "--method bogus" in result.output, result.output
    # train-sr: --out reaches the data-folder check (a missing -o/--output would be a usage error, exit 2)
    result = cli("train-sr", tmp_path / "missing", "--out", tmp_path / "run")
    assert result.exit_code == 1 and "training data folder not found" in result.output, result.output
    result = cli("train-sr", tmp_path / "missing")
    assert result.exit_code == 2 and "--output" in result.output


def test_aliases_never_shadow_a_real_option() -> None:
    from realsr_cli.cli.grammar import HIDDEN_ALIASES

    assert all(old not in _opt_strings(name) for name in COMMANDS for old in HIDDEN_ALIASES)
    upscale = load_subcommand("upscale")
    assert "-m" in {s for p in upscale.params for s in p.opts} and upscale.aliases == {}
