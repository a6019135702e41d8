"""One schema for train configurations: unknown or misspelt keys, from a preset or ``--set``, fail naming the closest
valid key; every key the defaults and the shipped presets use is in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from realsr_cli.errors import PresetError
from realsr_cli.presets import list_presets, load_preset
from realsr_cli.schema import ANY, check_keys, closest, unknown_keys
from realsr_cli.train import DEFAULTS, load_train_config
from realsr_cli.train.schema import TRAIN_SCHEMA


@pytest.mark.parametrize(
    ("assignment", "suggestion"),
    [
        ("train.lrr=1e-9", "train.lr"),
        ("trian.lr=1e-9", "train.lr"),
        ("train.scheduler.milstones=[10]", "train.scheduler.milestones"),
        ("losses.gan.wieght=0.1", "losses.gan.weight"),
        ("data.kernel_dir=kernels", "data.kernels_dir"),
        ("cyclesr.translator.lamda_cycle=1", "cyclesr.translator.lambda_cycle"),
    ],
)
def test_misspelt_set_key_fails_with_a_suggestion(assignment: str, suggestion: str) -> None:
    with pytest.raises(PresetError, match=rf"unknown key .* \(did you mean '{suggestion}'\?\)") as err:
        load_train_config("esrgan", sets=[assignment])
    assert str(err.value).startswith("--set: ") and "\n" not in str(err.value)


def test_unknown_key_without_a_close_match_lists_the_known_ones() -> None:
    with pytest.raises(PresetError, match=r"unknown key 'train.zzz' \(known here: amp, best_metric, betas"):
        load_train_config("msrresnet", sets=["train.zzz=1"])


def test_preset_file_keys_are_checked_too(tmp_path: Path) -> None:
    preset = tmp_path / "mine.yaml"
    preset.write_text("kind: train\narch: msrresnet\ndata: {patch_size: 32, bach_size: 4}\n")
    with pytest.raises(PresetError, match=r"mine.yaml: unknown key 'data.bach_size' \(did you mean 'data.batch_size'"):
        load_train_config(preset)


def test_free_form_sections_take_any_key() -> None:
    cfg = load_train_config("esrgan", sets=["arch_args.num_block=2", "discriminator.args.num_feat=8"])
    assert cfg["arch_args"]["num_block"] == 2 and cfg["discriminator"]["args"]["num_feat"] == 8
    cfg = load_train_config("esrgan", sets=["losses.perceptual.layers={conv4_4: 1.0}", "data.augment=[cutblur]"])
    assert cfg["losses"]["perceptual"]["layers"] == {"conv4_4": 1.0}


def test_defaults_and_shipped_presets_fit_the_schema() -> None:
    assert unknown_keys(DEFAULTS, TRAIN_SCHEMA) == []
    for name in list_presets("train"):
        assert unknown_keys(load_preset(name, "train"), TRAIN_SCHEMA) == [], name
        load_train_config(name)


def test_schema_helpers() -> None:
    assert closest("lrr", ["lr", "lr_d", "iters"]) == "lr" and closest("zzz", ["lr"]) is None
    schema = {"a": {"b": ANY}, "c": ANY}
    assert unknown_keys({"a": {"b": 1, "bb": 2}, "c": {"free": 1}}, schema) == [
        "unknown key 'a.bb' (did you mean 'a.b'?)"
    ]
    with pytest.raises(PresetError, match=r"^where: unknown key 'x' \(known here: a, c\)$"):
        check_keys({"x": 1}, schema, "where")


def test_cli_reports_the_misspelt_key_in_one_line(tmp_path: Path, image_folder: Path, cli) -> None:
    result = cli("train-sr", image_folder, "-o", tmp_path / "run", "--set", "train.lrr=1e-9", "-q")
    assert result.exit_code == 1 and "did you mean 'train.lr'" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "run").exists()
