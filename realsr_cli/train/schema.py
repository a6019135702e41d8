"""Every key a train configuration may have: a preset merged with ``--set`` is checked against this one schema.

``ANY`` marks a value (or a free-form mapping: an architecture's arguments, ``data.augment``, perceptual layers);
the values themselves are checked by ``realsr_cli.train.config.validate``.
"""

from __future__ import annotations

from typing import Any

from realsr_cli.losses.builder import LOSS_SCHEMA
from realsr_cli.schema import ANY, Schema, check_keys
from realsr_cli.train.cyclesr_config import DEFAULTS as CYCLESR_DEFAULTS
from realsr_cli.train.cyclesr_config import TRANSLATOR_DEFAULTS

DATA_SCHEMA: Schema = dict.fromkeys(
    (
        "patch_size",
        "batch_size",
        "flip",
        "rot90",
        "workers",
        "degrade_preset",
        "kernels_dir",
        "noise_dir",
        "augment",
        "min_pair_psnr",
    ),
    ANY,
)
SCHEDULER_SCHEMA: Schema = dict.fromkeys(("type", "milestones", "gamma", "periods", "restart_weights", "eta_min"), ANY)
FINETUNE_SCHEMA: Schema = dict.fromkeys(("start_iter", "pixel", "lr"), ANY)
TRAIN_SECTION_SCHEMA: Schema = {
    **dict.fromkeys(
        (
            "iters",
            "lr",
            "lr_d",
            "optimizer",
            "betas",
            "weight_decay",
            "ema_decay",
            "grad_clip",
            "amp",
            "channels_last",
            "log_every",
            "val_every",
            "save_every",
            "keep_snapshots",
            "best_metric",
            "val_lpips",
        ),
        ANY,
    ),
    "scheduler": SCHEDULER_SCHEMA,
    "finetune": FINETUNE_SCHEMA,
}
CYCLESR_SCHEMA: Schema = {
    **dict.fromkeys(CYCLESR_DEFAULTS, ANY),
    "translator": dict.fromkeys(TRANSLATOR_DEFAULTS, ANY),
}
TRAIN_SCHEMA: Schema = {
    **dict.fromkeys(("kind", "name", "source", "published", "description"), ANY),  # preset metadata
    "mode": ANY,
    "arch": ANY,
    "arch_args": ANY,
    "scale": ANY,
    "init": ANY,
    "discriminator": {"arch": ANY, "args": ANY},
    "data": DATA_SCHEMA,
    "train": TRAIN_SECTION_SCHEMA,
    "losses": LOSS_SCHEMA,
    "cyclesr": CYCLESR_SCHEMA,
}


def check_train_keys(cfg: dict[str, Any], where: str) -> None:
    """One line naming each unknown or misspelt key (and the closest valid one) of a train configuration."""
    check_keys(cfg, TRAIN_SCHEMA, where)
