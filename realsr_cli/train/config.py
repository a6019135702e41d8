"""Train configuration: a preset (``presets/train/*.yaml``) merged over defaults, then command-line overrides.

Layout (every key can be changed with ``--set section.key=value``)::

    arch: msrresnet          # generator, from realsr_cli.archs
    arch_args: {}            # overrides of the architecture's defaults
    scale: 4
    init: null               # generator weights to start from (model.pt or BasicSR/ESRGAN .pth)
    discriminator: {arch: vgg128, args: {}}   # only used when losses.gan.weight > 0
    data: {patch_size: 128, batch_size: 16, flip: true, rot90: true, workers: 2, degrade_preset: null,
           augment: null (realsr_cli.train.augments), min_pair_psnr: null (realsr_cli.train.pair_filter)}
    train: {iters, lr, lr_d, optimizer: adam|adamw, betas, weight_decay, scheduler: {...}, ema_decay, grad_clip,
            amp, channels_last, finetune: {start_iter, pixel, lr}, log_every, val_every, save_every,
            keep_snapshots, best_metric (realsr_cli.train.validation), val_lpips}
    losses: see realsr_cli.losses.builder
    mode: cyclesr            # optional: CycleSR joint training, with its cyclesr: section (realsr_cli.train.cyclesr_config)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from realsr_cli.errors import PresetError
from realsr_cli.presets import load_preset, set_by_dotted_key
from realsr_cli.train.schema import check_train_keys

DEFAULTS: dict[str, Any] = {
    "arch": "msrresnet",
    "arch_args": {},
    "scale": 4,
    "init": None,
    "discriminator": {"arch": "vgg128", "args": {}},
    "data": {
        "patch_size": 128,
        "batch_size": 16,
        "flip": True,
        "rot90": True,
        "workers": 2,
        "degrade_preset": None,
        "augment": None,
        "min_pair_psnr": None,
    },
    "train": {
        "iters": 1000,
        "lr": 2e-4,
        "lr_d": 1e-4,
        "optimizer": "adam",
        "betas": [0.9, 0.99],
        "weight_decay": 0.0,
        "scheduler": {"type": "multistep", "milestones": [], "gamma": 0.5},
        "ema_decay": 0.0,
        "grad_clip": 0.0,
        "amp": "none",
        "channels_last": True,
        "finetune": None,
        "log_every": 10,
        "val_every": 0,
        "save_every": 500,
        "keep_snapshots": 0,
        "best_metric": "psnr",
        "val_lpips": False,
    },
    "losses": {"pixel": {"type": "l1", "weight": 1.0}},
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "losses":
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_train_config(
    preset: str | Path = "msrresnet",
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
) -> dict[str, Any]:
    """Defaults <- preset <- ``overrides`` (dotted keys from CLI options) <- ``--set`` assignments.

    The preset, then the merged configuration, is checked against ``realsr_cli.train.schema``: an unknown or
    misspelt key (``--set train.lrr=...``) is one line naming the closest valid key.
    """
    raw = load_preset(preset, "train")
    check_train_keys(raw, f"train preset {preset}")
    cfg = _merge(DEFAULTS, raw)
    overrides = dict(overrides or {})
    if overrides.get("arch") and overrides["arch"] != cfg["arch"]:
        cfg["arch_args"] = {}  # the preset's architecture arguments belong to its own architecture
    if overrides.get("train.iters") is not None:
        from realsr_cli.train.cyclesr_config import fit_phases

        fit_phases(cfg, int(overrides["train.iters"]))
        fit_schedule(cfg["train"], int(overrides["train.iters"]))
    for key, value in overrides.items():
        if value is not None:
            set_by_dotted_key(cfg, f"{key}={value}") if isinstance(value, str) else _set(cfg, key, value)
    for assignment in sets or []:
        set_by_dotted_key(cfg, assignment)
    check_train_keys(cfg, "--set" if sets else "train config")
    validate(cfg)
    return cfg


def fit_schedule(train: dict[str, Any], iters: int) -> None:
    """Stretch the preset's schedule (milestones, cosine periods, fine-tune start) from ``train.iters`` to ``iters``.

    ``--iters`` uses this, so that a short run of a 1M-iteration preset still anneals its learning rate; an explicit
    ``--set train.scheduler...`` (applied afterwards) or ``--set train.iters=N`` keeps the preset's numbers.
    """
    old = int(train["iters"])
    if iters < 1 or old < 1 or iters == old:
        return
    ratio = iters / old
    sched = train.get("scheduler") or {}
    if sched.get("milestones"):
        sched["milestones"] = [max(1, round(int(m) * ratio)) for m in sched["milestones"]]
    if sched.get("periods"):
        periods = [max(1, round(int(p) * ratio)) for p in sched["periods"]]
        periods[-1] = max(1, periods[-1] + round(sum(int(p) for p in sched["periods"]) * ratio) - sum(periods))
        sched["periods"] = periods
    finetune = train.get("finetune")
    if isinstance(finetune, dict) and finetune.get("start_iter") is not None:
        finetune["start_iter"] = max(1, round(int(finetune["start_iter"]) * ratio))


def _set(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    node = cfg
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


# Numeric keys and their least value (None: any); checked before anything is built, so that a bad ``--set`` value
# is one line naming the key, not an error deep inside training.
NUMBERS: dict[str, tuple[type, float | None]] = {
    "scale": (int, 1),
    "data.patch_size": (int, 1),
    "data.batch_size": (int, 1),
    "data.workers": (int, 0),
    "train.iters": (int, 1),
    "train.lr": (float, 0),
    "train.lr_d": (float, 0),
    "train.weight_decay": (float, 0),
    "train.ema_decay": (float, 0),
    "train.grad_clip": (float, 0),
    "train.log_every": (int, 1),
    "train.val_every": (int, 0),
    "train.save_every": (int, 0),
}


def _lookup(cfg: dict[str, Any], dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict):
            raise PresetError(f"{dotted}: '{part}' is inside a value that is not a section")
        node = node.get(part)
    return node


def check_number(key: str, value: Any, kind: type, least: float | None) -> None:
    """``value`` must be a number (an integer for ``int`` keys) of at least ``least``."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not numeric or (kind is int and float(value) != int(value)) or value != value:
        expected = "an integer" if kind is int else "a number"
        raise PresetError(f"{key}={value!r}: expected {expected}")
    if least is not None and value < least:
        raise PresetError(f"{key}={value!r}: must be at least {least:g}")


def validate_types(cfg: dict[str, Any]) -> None:
    """Every numeric key a number of the right kind, ``train.betas`` two numbers, sections mappings."""
    for section in ("data", "train", "losses"):
        if not isinstance(cfg.get(section), dict):
            raise PresetError(f"{section}: expected a section (a mapping), not {cfg.get(section)!r}")
    if not isinstance(cfg.get("arch"), str) or not isinstance(cfg.get("arch_args") or {}, dict):
        raise PresetError(
            f"arch={cfg.get('arch')!r}, arch_args={cfg.get('arch_args')!r}: expected a name and a mapping"
        )
    for key, (kind, least) in NUMBERS.items():
        check_number(key, _lookup(cfg, key), kind, least)
    betas = cfg["train"].get("betas")
    if not isinstance(betas, (list, tuple)) or len(betas) != 2:
        raise PresetError(f"train.betas={betas!r}: expected two numbers, e.g. [0.9, 0.99]")
    for beta in betas:
        check_number("train.betas", beta, float, 0)


def validate(cfg: dict[str, Any]) -> None:
    validate_types(cfg)
    data, train = cfg["data"], cfg["train"]
    scale = int(cfg["scale"])
    if scale < 1:
        raise PresetError(f"scale must be >= 1, not {scale}")
    if int(data["patch_size"]) % scale:
        raise PresetError(f"data.patch_size {data['patch_size']} (HR) must be a multiple of the scale {scale}")
    if int(data["batch_size"]) < 1 or int(train["iters"]) < 1:
        raise PresetError("data.batch_size and train.iters must be positive")
    if str(train["amp"]).lower() not in ("none", "bf16", "fp16"):
        raise PresetError(f"train.amp {train['amp']!r}: expected none, bf16 or fp16")
    sched = train.get("scheduler") or {}
    if sched.get("type", "multistep") not in ("multistep", "cosine_restart", "constant"):
        raise PresetError(f"train.scheduler.type {sched.get('type')!r}: expected multistep, cosine_restart, constant")
    validate_tricks(cfg)
    validate_mode(cfg)


def validate_mode(cfg: dict[str, Any]) -> None:
    """``mode``: ``paired`` (absent: make-pairs folders or on-the-fly degradation) or ``cyclesr``."""
    mode = cfg.get("mode", "paired")
    if mode == "cyclesr":
        from realsr_cli.train.cyclesr_config import validate_cyclesr

        validate_cyclesr(cfg)
    elif mode != "paired":
        raise PresetError(f"mode {mode!r}: expected paired or cyclesr")
    elif cfg.get("cyclesr") is not None:
        raise PresetError("cyclesr: this section needs mode: cyclesr")


def validate_tricks(cfg: dict[str, Any]) -> None:
    """The AIM 2020 / NTIRE 2020 options (absent from configurations saved before them: their defaults)."""
    from realsr_cli.train.augments import parse_augment
    from realsr_cli.train.optimizers import optimizer_name
    from realsr_cli.train.validation import check_best_metric

    data, train = cfg["data"], cfg["train"]
    parse_augment(data.get("augment"))
    optimizer_name(train)
    check_best_metric(str(train.get("best_metric", "psnr")))
    check_number("train.keep_snapshots", train.get("keep_snapshots", 0), int, 0)
    if data.get("min_pair_psnr") is not None:
        check_number("data.min_pair_psnr", data["min_pair_psnr"], float, None)
        if data.get("degrade_preset"):
            raise PresetError("data.min_pair_psnr filters make-pairs folders; it does not apply to data.degrade_preset")
