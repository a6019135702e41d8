"""Degradation recipes checked against one op table before sampling; ``--kernels`` / ``--noise-patches`` /
``--noise-model`` mean the same in every subcommand: what a recipe's steps draw from, refused when none does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realsr_cli.degradations.kernels import gaussian_kernel
from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.recipe_schema import KERNELS, NOISE_PATCHES, OPS, check_recipe, recipe_draws
from realsr_cli.errors import InputError, PresetError
from realsr_cli.io.images import write_image
from realsr_cli.presets import list_presets, load_preset
from realsr_cli.train import load_train_config
from realsr_cli.train.trainer import make_dataset
from tests.conftest import synthetic_image


def _recipe(*steps: dict, **top: object) -> dict:
    return {"name": "cam", "steps": list(steps), **top}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_recipe({"op": "blurr"}), r"unknown step op 'blurr' \(did you mean 'blur'\?\)"),
        (_recipe({"op": "noise", "sigmaa": 3}), r"step 'noise': unknown key 'sigmaa' \(did you mean 'sigma'\?\)"),
        (_recipe({"op": "blur", "kernel": {"rotation": 1}}), r"blur kernel: unknown key 'rotation'"),
        (_recipe({"choice": [{"op": "jpeg", "qualty": 50}]}), r"unknown key 'qualty' \(did you mean 'quality'\?\)"),
        (_recipe({"choise": [{"op": "jpeg"}]}), r"unknown key 'choise' \(did you mean 'choice'\?\)"),
        (_recipe({"prob": 0.5}), r"has no 'op:'"),
        ({"name": "cam", "step": []}, r"unknown key 'step' \(did you mean 'steps'\?\)"),
        ({"name": "cam", "model": "realesrgan", "sinc_prob3": 0.1}, r"did you mean 'sinc_prob'\?"),
    ],
)
def test_unknown_ops_and_keys_are_refused_with_a_suggestion(config: dict, message: str) -> None:
    with pytest.raises(PresetError, match=message):
        Degradation.from_preset(config)


def test_what_steps_draw_comes_from_the_table() -> None:
    assert recipe_draws(_recipe({"op": "kernel_downsample"}, {"op": "noise_patch"}), "cam") == {KERNELS, NOISE_PATCHES}
    assert recipe_draws(_recipe({"choice": [{"op": "blur", "kernel": "file"}, {"op": "jpeg"}]}), "cam") == {KERNELS}
    assert recipe_draws(_recipe({"op": "blur", "kernel": {"type": "iso"}}), "cam") == set()
    assert {"blur", "resize", "kernel_downsample", "noise_patch", "noise_model", "denoise", "sharpen"} <= set(OPS)
    for name in list_presets("degradation"):  # every shipped recipe passes the table
        check_recipe(load_preset(name, "degradation"), name)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    hr, kernels, noise = tmp_path / "hr", tmp_path / "kernels", tmp_path / "noise"
    for folder in (hr, kernels, noise):
        folder.mkdir()
    write_image(hr / "a.png", synthetic_image(32, 32, seed=1))
    np.save(kernels / "a_kernel_x2.npy", gaussian_kernel(13, 1.2))
    write_image(noise / "n.png", synthetic_image(16, 16, seed=2))
    return hr, kernels, noise


def test_degrade_kernels_without_a_preset_is_refused(cli, folders, tmp_path: Path) -> None:
    hr, kernels, noise = folders
    result = cli("degrade", hr, tmp_path / "lr", "-s", "2", "--kernels", kernels, "-q")
    assert result.exit_code == 1 and "--preset kernel-noise" in result.output and not (tmp_path / "lr").exists()
    used = cli("degrade", hr, tmp_path / "lr", "-s", "2", "-p", "kernel-noise", "--kernels", kernels,
               "--noise-patches", noise, "-q")  # fmt: skip
    assert used.exit_code == 0, used.output


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--kernels", "has no step that draws kernel files"),
        ("--noise-patches", "has no noise_patch or noise_model step"),
    ],
)
def test_unused_folders_are_refused_in_degrade_and_make_pairs(cli, folders, tmp_path: Path, flag, message) -> None:
    hr, kernels, noise = folders
    folder = kernels if flag == "--kernels" else noise
    degrade = cli("degrade", hr, tmp_path / "lr", "-s", "2", "-p", "generic", flag, folder, "-q")
    pairs = cli("make-pairs", hr, "-o", tmp_path / "pairs", "-s", "2", "--preset", "generic", flag, folder, "-q")
    for result in (degrade, pairs):
        assert result.exit_code == 1 and f"{flag}: preset 'generic' {message}" in result.output, result.output


def test_train_degrade_preset_folders_must_be_used(folders) -> None:
    hr, kernels, _ = folders
    cfg = load_train_config("msrresnet", {"data.degrade_preset": "generic"}, [f"data.kernels_dir={kernels}"])
    with pytest.raises(InputError, match="data.kernels_dir: preset 'generic' has no step that draws kernel files"):
        make_dataset(hr, cfg, 0)
