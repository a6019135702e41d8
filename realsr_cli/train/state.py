"""Training state checkpoints: everything ``--resume`` needs to continue bit-for-bit.

``RUN_DIR/checkpoints/latest.pt`` (written atomically) holds the generator, discriminator, EMA, optimiser,
scheduler and AMP-scaler states, the iteration, the best validation score, the configuration and the
Python/NumPy/torch random states. It is read with ``weights_only=True``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_torch

CHECKPOINT_FORMAT = "realsr-train-state"


def rng_state() -> dict[str, Any]:
    numpy_state = np.random.get_state(legacy=True)
    if not isinstance(numpy_state, tuple):  # legacy=True: ('MT19937', keys, pos, has_gauss, cached_gaussian)
        raise TypeError("numpy returned a non-legacy random state")
    state = {
        "python": list(random.getstate()[1]),
        "python_pos": random.getstate()[2],
        "numpy": numpy_state[1].tolist(),
        "numpy_pos": int(numpy_state[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate((3, tuple(state["python"]), state["python_pos"]))
    np.random.set_state(("MT19937", np.array(state["numpy"], dtype=np.uint32), state["numpy_pos"], 0, 0.0))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


REQUIRED_KEYS = ("iter", "seed", "config", "net_g", "opt_g", "sched_g", "scaler_g", "rng")


def save_state(path: Path, state: dict[str, Any]) -> Path:
    """Write (replace) the run's checkpoint atomically; a full disk is an ``OutputError`` naming it."""
    payload = {"format": CHECKPOINT_FORMAT, "rng": rng_state(), **state}
    return atomic_write_torch(path, payload, overwrite=True)


def load_state(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path}: no training checkpoint to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one user-facing error
        raise InputError(f"{path}: unreadable training checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: not a realsr training checkpoint")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise InputError(f"{path}: incomplete training checkpoint (missing {', '.join(missing)})")
    config = state["config"]
    if not isinstance(config, dict) or not isinstance(config.get("train"), dict):
        raise InputError(f"{path}: training checkpoint without its run configuration")
    return state
