"""The keys of a degradation recipe, checked before anything is sampled, and the folders its steps draw from.

One table (``OPS``) names every ``steps:`` operation, the keys it takes and what it draws from outside the recipe:
kernel files (``--kernels``), real noise patches (``--noise-patches``) or a camera noise model (``--noise-model``).
An unknown op or key is one line naming the closest valid one (``realsr_cli.schema``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from realsr_cli.errors import PresetError
from realsr_cli.schema import ANY, Schema, check_keys, closest

KERNELS, NOISE_PATCHES, NOISE_MODEL = "kernels", "noise_patches", "noise_model"


@dataclass(frozen=True)
class OpSpec:
    keys: tuple[str, ...]
    draws: str | None = None  # KERNELS, NOISE_PATCHES or NOISE_MODEL


STEP_KEYS = ("op", "prob")
CHOICE_KEYS = ("choice", "weights", "prob")
KERNEL_KEYS = ("type", "size", "sigma", "sigma_x", "sigma_y", "theta", "beta", "cutoff")
OPS: dict[str, OpSpec] = {
    "blur": OpSpec(("kernel",)),  # ``kernel: file`` draws from KERNELS (``step_draws``)
    "resize": OpSpec(("size", "scale", "method")),
    "kernel_downsample": OpSpec((), KERNELS),
    "noise": OpSpec(("type", "sigma", "gray", "peak", "alpha", "scale")),
    "noise_patch": OpSpec(("strength",), NOISE_PATCHES),
    "noise_model": OpSpec(("strength",), NOISE_MODEL),
    "jpeg": OpSpec(("quality",)),
    "quantize": OpSpec(("levels",)),
    "denoise": OpSpec(("method", "sigma_color", "sigma_space", "diameter", "h", "h_color", "sigma")),
    "sharpen": OpSpec(("radius", "amount", "threshold")),
}
# Real-ESRGAN's second-order model (``model: realesrgan``), with the option names of its training options file
# (each key of a degradation stage also exists for the second stage, with a ``2`` suffix)
_REALESRGAN_STAGE = """blur_kernel_size kernel_list kernel_prob sinc_prob blur_sigma betag_range betap_range resize_prob
    resize_range gaussian_noise_prob noise_range poisson_scale_range gray_noise_prob jpeg_range""".split()
REALESRGAN_KEYS = (
    *_REALESRGAN_STAGE,
    *(f"{k}2" for k in _REALESRGAN_STAGE),
    "kernel_range",
    "final_sinc_prob",
    "second_blur_prob",
)
PRESET_KEYS = ("kind", "name", "source", "published", "description", "steps", "model", "mixture", "learned_model")
MIXTURE_ENTRY_KEYS = ("preset", "weight")


def _keys(names: tuple[str, ...]) -> Schema:
    return dict.fromkeys(names, ANY)


def is_choice(step: dict[str, Any]) -> bool:
    """A ``{choice: [step, ...], weights: [...]}`` step, which picks one of its steps."""
    return "choice" in step and "op" not in step


def iter_steps(steps: Any, name: str) -> Iterator[dict[str, Any]]:
    """Every step of ``steps``: choice steps, then the steps they choose from, and operation steps."""
    if not isinstance(steps, list):
        raise PresetError(f"preset '{name}': 'steps' must be a list of steps")
    for step in steps:
        if not isinstance(step, dict):
            raise PresetError(f"preset '{name}': step {step!r} is not a mapping (e.g. {{op: resize, size: lr}})")
        yield step
        if is_choice(step):
            yield from iter_steps(step["choice"], name)


def check_step(step: dict[str, Any], name: str) -> None:
    """One operation step: a known op and only its keys (and a blur kernel's)."""
    op = step.get("op")
    if op is None:
        check_keys(step, _keys(STEP_KEYS + CHOICE_KEYS), f"preset '{name}', step {step!r}")
        raise PresetError(f"preset '{name}': step {step!r} has no 'op:' (or 'choice:')")
    if op not in OPS:
        match = closest(str(op), OPS)
        hint = f"did you mean '{match}'?" if match else f"known: {', '.join(OPS)}"
        raise PresetError(f"preset '{name}': unknown step op {op!r} ({hint})")
    check_keys(step, _keys(STEP_KEYS + OPS[op].keys), f"preset '{name}', step '{op}'")
    kernel = step.get("kernel")
    if op == "blur" and isinstance(kernel, dict):  # e.g. 'rotation:' for 'theta:' would draw a random angle per image
        check_keys(kernel, _keys(KERNEL_KEYS), f"preset '{name}', blur kernel")


def check_recipe(config: dict[str, Any], name: str) -> None:
    """A recipe's keys: the preset's own, then its steps', Real-ESRGAN options or mixture entries."""
    known = PRESET_KEYS + (REALESRGAN_KEYS if config.get("model") == "realesrgan" else ())
    check_keys(config, _keys(known), f"preset '{name}'")
    if "steps" in config:
        for step in iter_steps(config["steps"], name):
            if is_choice(step):
                check_keys(step, _keys(CHOICE_KEYS), f"preset '{name}', choice step")
            else:
                check_step(step, name)
    for entry in config.get("mixture") or []:
        if isinstance(entry, dict):
            check_keys(entry, _keys(MIXTURE_ENTRY_KEYS), f"preset '{name}', mixture entry")


def step_draws(step: dict[str, Any]) -> str | None:
    """What an operation step draws from outside the recipe: KERNELS, NOISE_PATCHES, NOISE_MODEL or None."""
    if step.get("op") == "blur" and step.get("kernel") == "file":
        return KERNELS
    spec = OPS.get(str(step.get("op")))
    return spec.draws if spec else None


def recipe_draws(config: dict[str, Any], name: str) -> set[str]:
    """Everything the steps of a ``steps:`` recipe draw from outside it (empty for other recipes)."""
    draws = (step_draws(step) for step in iter_steps(config.get("steps", []), name))
    return {d for d in draws if d is not None}
