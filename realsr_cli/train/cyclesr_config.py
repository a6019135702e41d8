"""CycleSR settings: the ``cyclesr:`` section of a ``mode: cyclesr`` train preset (defaults, phases, checks).

Chen et al., "Unsupervised Image Super-Resolution with an Indirect Supervised Path", CVPRW 2020; the authors'
code is huawei-noah/vega (``CycleSRModel``, ``examples/data_augmentation/cyclesr/cyclesr.yml``)::

    mode: cyclesr
    cyclesr:
      real_lr: null             # the camera's real LR photos (train-sr --real-lr), unpaired with the HR images
      noise_sigma: 5.0          # Gaussian noise (0-255 scale) added to the bicubic LR, before translation
      sr_to_translator: 10.0    # lambda_SR->trans: weight of the SR loss in the translator's loss (0: none)
      pretrain_translator: 3000 # iterations [0, P_t): the translator alone (CycleGAN losses)
      pretrain_sr: 500          # iterations [P_t, P_t + P_s): the SR network alone, translator frozen
      translator: {n_res_blocks: 8, channels: 64, d_channels: 64, d_layers: 3, lr: 2.0e-4, beta1: 0.5,
                   lambda_cycle: 10.0, lambda_identity: 0.5}

The remaining ``train.iters - P_t - P_s`` iterations train both networks alternately (joint phase). With none left,
the run is the two stages run separately (translator, then SR on its frozen output).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from realsr_cli.errors import PresetError
from realsr_cli.learn.gan_training import GANConfig

TRANSLATOR_DEFAULTS: dict[str, Any] = {
    "n_res_blocks": 8,
    "channels": 64,
    "d_channels": 64,
    "d_layers": 3,
    "lr": 2e-4,
    "beta1": 0.5,
    "lambda_cycle": 10.0,
    "lambda_identity": 0.5,
}
DEFAULTS: dict[str, Any] = {
    "real_lr": None,
    "noise_sigma": 5.0,
    "sr_to_translator": 10.0,
    "pretrain_translator": 3000,
    "pretrain_sr": 500,
    "translator": TRANSLATOR_DEFAULTS,
}
# key: (int?, least value)
NUMBERS = {
    "noise_sigma": (float, 0),
    "sr_to_translator": (float, 0),
    "pretrain_translator": (int, 0),
    "pretrain_sr": (int, 0),
}
TRANSLATOR_NUMBERS = {
    "n_res_blocks": (int, 1),
    "channels": (int, 1),
    "d_channels": (int, 1),
    "d_layers": (int, 1),
    "lr": (float, 0),
    "beta1": (float, 0),
    "lambda_cycle": (float, 0),
    "lambda_identity": (float, 0),
}
PHASES = ("translator", "sr", "joint")


@dataclass(frozen=True)
class CycleSRSettings:
    real_lr: str | None
    noise_sigma: float
    sr_to_translator: float
    pretrain_translator: int
    pretrain_sr: int
    translator: dict[str, Any] = field(default_factory=dict)

    def phase(self, iteration: int) -> str:
        """The phase of 0-based ``iteration``: translator, sr or joint."""
        if iteration < self.pretrain_translator:
            return "translator"
        return "sr" if iteration < self.pretrain_translator + self.pretrain_sr else "joint"

    def gan_config(self, batch: int, lr_patch: int) -> GANConfig:
        """The CycleGAN translator's settings (learn-degradation's ``GANConfig``)."""
        t = self.translator
        return GANConfig(
            method="cyclegan",
            batch=batch,
            patch=lr_patch,
            lr=float(t["lr"]),
            beta1=float(t["beta1"]),
            n_res_blocks=int(t["n_res_blocks"]),
            channels=int(t["channels"]),
            d_channels=int(t["d_channels"]),
            d_layers=int(t["d_layers"]),
            lambda_cycle=float(t["lambda_cycle"]),
            lambda_identity=float(t["lambda_identity"]),
        )


def cyclesr_section(cfg: dict[str, Any]) -> dict[str, Any]:
    """The ``cyclesr`` section with every default filled in."""
    raw = cfg.get("cyclesr") or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("translator") or {}, dict):
        raise PresetError(f"cyclesr: expected a section (a mapping), not {raw!r}")
    merged = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(raw)}
    merged["translator"] = {**TRANSLATOR_DEFAULTS, **(raw.get("translator") or {})}
    return merged


def cyclesr_settings(cfg: dict[str, Any]) -> CycleSRSettings:
    """The run's CycleSR settings, defaults filled in (``cfg`` validated)."""
    s = cyclesr_section(cfg)
    return CycleSRSettings(
        real_lr=None if s["real_lr"] is None else str(s["real_lr"]),
        noise_sigma=float(s["noise_sigma"]),
        sr_to_translator=float(s["sr_to_translator"]),
        pretrain_translator=int(s["pretrain_translator"]),
        pretrain_sr=int(s["pretrain_sr"]),
        translator=s["translator"],
    )


def validate_cyclesr(cfg: dict[str, Any]) -> None:
    """Numbers, phase lengths and the options this mode does not combine with, each one line (the section's keys
    are checked with the whole configuration's, by ``realsr_cli.train.schema``)."""
    from realsr_cli.train.config import check_number

    s = cyclesr_section(cfg)
    for key, (kind, least) in NUMBERS.items():
        check_number(f"cyclesr.{key}", s[key], kind, least)
    for key, (kind, least) in TRANSLATOR_NUMBERS.items():
        check_number(f"cyclesr.translator.{key}", s["translator"][key], kind, least)
    iters = int(cfg["train"]["iters"])
    if int(s["pretrain_translator"]) + int(s["pretrain_sr"]) > iters:
        raise PresetError(
            f"cyclesr.pretrain_translator + cyclesr.pretrain_sr ({s['pretrain_translator']} + {s['pretrain_sr']}) "
            f"exceed train.iters {iters}"
        )
    data = cfg["data"]
    for key in ("degrade_preset", "min_pair_psnr", "augment"):
        if data.get(key):
            raise PresetError(f"data.{key} does not apply to mode: cyclesr (its LR comes from the translator)")


def fit_phases(cfg: dict[str, Any], iters: int) -> None:
    """Stretch the pre-training phases with ``--iters``, as ``fit_schedule`` stretches the learning-rate schedule."""
    section, old = cfg.get("cyclesr"), int(cfg["train"]["iters"])
    if cfg.get("mode") != "cyclesr" or not isinstance(section, dict) or iters < 1 or old < 1 or iters == old:
        return
    for key in ("pretrain_translator", "pretrain_sr"):
        value = section.get(key, DEFAULTS[key])
        if isinstance(value, int) and not isinstance(value, bool):
            section[key] = round(value * iters / old)
    spill = int(section.get("pretrain_translator", 0)) + int(section.get("pretrain_sr", 0)) - iters
    if spill > 0 and isinstance(section.get("pretrain_sr"), int):  # rounding: the phases still fit the run
        section["pretrain_sr"] = max(0, section["pretrain_sr"] - spill)
