"""Degradation recipes: sample every random choice into a JSON-serialisable ``params`` dict, then apply it.

``Degradation.from_preset(name_or_yaml)`` reads ``presets/degradation/<name>.yaml``. ``sample(rng, hr_shape, scale)``
draws everything (kernels, sizes, resizers, noise levels and noise seeds, kernel/noise-patch files, JPEG qualities)
into ``{"preset", "scale", "hr_shape", "lr_shape", "ops": [...]}``; ``apply(hr, params)`` executes the recorded ``ops``
deterministically, so a manifest line reproduces its output exactly.

Two preset families:

- ``steps:`` — an ordered list of operations. A value given as a number is fixed, ``[lo, hi]`` is uniform,
  a list of strings or ``{choice: [...], weights: [...]}`` is a random choice; any step may carry ``prob:``
  (applied with that probability) and ``{choice: [step, ...], weights: [...]}`` picks one step. Operations:
  ``blur`` (``kernel: {type, size, sigma_x, sigma_y, theta, beta}`` or ``kernel: file`` for a random ``--kernels``
  file), ``resize`` (``size: lr`` = the final LR size ``ceil(hr / s)``, or ``scale:`` relative; ``method:`` one of
  nearest/bilinear/bicubic/lanczos/area/matlab), ``kernel_downsample`` (``(I * k)↓s`` with a random ``--kernels``
  file), ``noise`` (``type: gaussian`` sigma [0-255] + gray, ``poisson`` peak, ``poisson_gaussian`` sigma + alpha),
  ``noise_patch`` (a random ``--noise-patches`` patch, mean removed; synthesised from the camera noise model instead
  with ``--noise-model FILE``, or when the folder holds a ``model.json`` and fewer than 8 patches), ``noise_model``
  (heteroscedastic camera noise ``var_c = a_c mu + b_c`` with colour correlation, from ``--noise-model`` /
  ``learn-degradation``'s ``noise/model.json``; Foi et al., TIP 2008), ``jpeg`` (quality), ``quantize`` (8-bit rounding),
  and the camera-ISP stages of ``isp.py``: ``denoise`` (``method:`` bilateral/nlm/gaussian) and ``sharpen``
  (unsharp mask: ``radius``, ``amount``, ``threshold``).
  The steps must end at the LR size.
- ``model: realesrgan`` — Real-ESRGAN's second-order model (Wang et al., ICCVW 2021; xinntao/Real-ESRGAN
  ``realesrgan_dataset.py`` kernel sampling and ``realesrgan_model.py`` ``feed_data``), configured with the option
  names of ``options/train_realesrgan_x4plus.yml``.

A third form, ``mixture: [{preset: NAME_OR_FILE | {inline preset}, weight: w}, ...]``, draws one component
recipe per image with probability proportional to its weight (recorded as ``params["component"]``); e.g.
``default-mix`` spans clean, mild and Real-ESRGAN-strength degradations for the built-in default models.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.degradations.isp import ISP_OPS, apply_isp, sample_isp
from realsr_cli.degradations.jpeg import jpeg_compress
from realsr_cli.degradations.kernel_centre import aligned_kernel
from realsr_cli.degradations.kernel_floor import is_unresolved, shrink_to_range
from realsr_cli.degradations.kernels import blur, blur_subsample, find_kernel_files, load_kernel, make_kernel
from realsr_cli.degradations.learned_model import DegradationModel, load_degradation_model
from realsr_cli.degradations.noise import (
    NoiseModel,
    add_gaussian,
    add_model_noise,
    add_poisson,
    add_poisson_gaussian,
    add_realesrgan_poisson,
    inject_noise,
    load_noise_patch,
    model_noise_params,
    noise_sources,
)
from realsr_cli.degradations.recipe_schema import KERNELS, NOISE_MODEL, NOISE_PATCHES, check_recipe, recipe_draws
from realsr_cli.degradations.resize import RESIZE_METHODS, resize, scaled_size
from realsr_cli.errors import InputError, PresetError
from realsr_cli.presets import load_preset

NOISE_TYPES = ("gaussian", "poisson", "poisson_gaussian", "realesrgan_poisson")
SEED_HIGH = 2**63 - 1


def lr_size(hr_shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """The LR size of an HR size: ``ceil(hr / s)`` (MATLAB convention; exact when s divides the size)."""
    return scaled_size(int(hr_shape[0]), int(hr_shape[1]), 1.0 / float(scale))


def draw(spec: Any, rng: np.random.Generator) -> Any:
    """Sample one preset value: number (fixed), [lo, hi] (uniform), list of strings / {choice, weights} (choice)."""
    if isinstance(spec, dict) and "choice" in spec:
        options = spec["choice"]
        weights = spec.get("weights")
        p = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
        return draw(options[int(rng.choice(len(options), p=p))], rng)
    if isinstance(spec, list):
        if len(spec) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec):
            return float(rng.uniform(float(spec[0]), float(spec[1])))
        if spec and all(isinstance(v, str) for v in spec):
            return spec[int(rng.integers(len(spec)))]
        raise PresetError(f"cannot sample {spec!r}: use [lo, hi], a list of names, or {{choice: [...]}}")
    return spec


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, SEED_HIGH))


def _gen(seed: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return gen


class Degradation:
    """A degradation recipe bound to its kernel and noise-patch folders."""

    per_photo_kernels = False  # True: draw per-photo kernel files even when the folder has a camera kernel
    kernel_floor = "off"  # "range"/"match": kernel files at KernelGAN's floor are narrowed by a drawn amount
    floor_band = (0.0, 1.0)  # the amounts drawn from (kernel_floor.shrink_to_range); "match" narrows it

    def __init__(
        self,
        config: dict[str, Any],
        kernels_dir: str | Path | None = None,
        noise_patches_dir: str | Path | None = None,
        noise_model: str | Path | None = None,
    ):
        self.config = config
        self.name = str(config.get("name", "custom"))
        self.kernels_dir = Path(kernels_dir) if kernels_dir else None
        self.noise = noise_sources(noise_patches_dir, noise_model)
        self.noise_bank = None if self.noise.use_model else self.noise.bank
        self._kernel_files: dict[int, list[Path]] = {}
        self._kernel_cache: dict[str, np.ndarray] = {}
        self._patch_cache: dict[str, np.ndarray] = {}
        self._models: dict[str, DegradationModel] = {}
        self.components: list[tuple[Degradation, float]] = []
        check_recipe(config, self.name)
        if "mixture" in config:
            self.components = self._build_mixture(config["mixture"], kernels_dir, noise_patches_dir, noise_model)
            return
        if "steps" not in config and config.get("model") != "realesrgan":
            raise PresetError(f"degradation preset '{self.name}' needs 'steps:', 'model: realesrgan' or 'mixture:'")
        self._check_folders()

    def _build_mixture(
        self,
        entries: Any,
        kernels_dir: str | Path | None,
        noise_patches_dir: str | Path | None,
        noise_model: str | Path | None = None,
    ) -> list[tuple[Degradation, float]]:
        """The component recipes of a ``mixture:`` preset and their (positive) weights."""
        if not isinstance(entries, list) or not entries:
            raise PresetError(f"preset '{self.name}': 'mixture' must be a non-empty list of {{preset, weight}}")
        components = []
        for entry in entries:
            if not isinstance(entry, dict) or "preset" not in entry:
                raise PresetError(f"preset '{self.name}': mixture entry {entry!r} needs 'preset:'")
            weight = float(entry.get("weight", 1.0))
            if not weight > 0:
                raise PresetError(f"preset '{self.name}': mixture weight {weight} must be positive")
            sub = Degradation.from_preset(entry["preset"], kernels_dir, noise_patches_dir, noise_model)
            components.append((sub, weight))
        return components

    @classmethod
    def from_preset(
        cls,
        preset: str | Path | dict[str, Any],
        kernels_dir: str | Path | None = None,
        noise_patches_dir: str | Path | None = None,
        noise_model: str | Path | None = None,
    ) -> Degradation:
        config = copy.deepcopy(preset) if isinstance(preset, dict) else load_preset(preset, "degradation")
        return cls(config, kernels_dir, noise_patches_dir, noise_model)

    # ------------------------------------------------------------------------------------------------ sampling

    def _check_folders(self) -> None:
        draws = recipe_draws(self.config, self.name)
        if KERNELS in draws and self.kernels_dir is None:
            raise InputError(f"preset '{self.name}' draws blur kernels from files: give --kernels DIR")
        if NOISE_PATCHES in draws and self.noise_bank is None and not self.noise.use_model:
            raise InputError(f"preset '{self.name}' injects real noise patches: give --noise-patches DIR")
        if NOISE_MODEL in draws and self.noise.model is None:
            raise InputError(f"preset '{self.name}' synthesises camera noise: give --noise-model FILE")

    def draws(self) -> set[str]:
        """What the recipe (and its mixture components) draws from outside it: ``recipe_schema.KERNELS``, ..."""
        if self.components:
            return set().union(*(sub.draws() for sub, _ in self.components))
        return recipe_draws(self.config, self.name)

    def kernel_files(self, scale: int) -> list[Path]:
        if self.kernels_dir is None:
            raise InputError(f"preset '{self.name}' draws blur kernels from files: give --kernels DIR")
        if scale not in self._kernel_files:
            found = find_kernel_files(self.kernels_dir, scale, per_photo=self.per_photo_kernels)
            self._kernel_files[scale] = [p.resolve() for p in found]
        return self._kernel_files[scale]

    def sample(self, rng: np.random.Generator, hr_shape: tuple[int, ...], scale: float) -> dict[str, Any]:
        """Draw every random choice for one image of ``hr_shape`` ((H, W) or (..., H, W)) at ``scale``."""
        h, w = int(hr_shape[-2]), int(hr_shape[-1])
        target = lr_size((h, w), scale)
        if self.components:
            weights = np.asarray([wt for _, wt in self.components], dtype=np.float64)
            sub = self.components[int(rng.choice(len(weights), p=weights / weights.sum()))][0]
            params = sub.sample(rng, (h, w), scale)
            return {**params, "preset": self.name, "component": params.get("component", sub.name)}
        if self.config.get("model") == "realesrgan":
            ops = _sample_realesrgan(self.config, rng, (h, w), target)
        else:
            ops, size = [], (h, w)
            for step in self.config["steps"]:
                size = self._sample_step(step, rng, size, scale, target, ops)
            if tuple(size) != tuple(target):
                raise PresetError(
                    f"preset '{self.name}' ends at {size[0]}x{size[1]}, not the x{scale} LR size "
                    f"{target[0]}x{target[1]}: add a step 'resize' with 'size: lr'"
                )
        scale_out: float | int = int(scale) if float(scale).is_integer() else float(scale)
        return {"preset": self.name, "scale": scale_out, "hr_shape": [h, w], "lr_shape": list(target), "ops": ops}

    def _sample_step(
        self,
        step: dict[str, Any],
        rng: np.random.Generator,
        size: tuple[int, int],
        scale: float,
        target: tuple[int, int],
        ops: list[dict[str, Any]],
    ) -> tuple[int, int]:
        if "prob" in step and rng.random() >= float(step["prob"]):
            return size
        if "choice" in step and "op" not in step:
            options = step["choice"]
            weights = step.get("weights")
            p = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
            return self._sample_step(options[int(rng.choice(len(options), p=p))], rng, size, scale, target, ops)
        op = step.get("op")
        if op == "blur":
            ops.append({"op": "blur", **self._sample_kernel(step.get("kernel", {}), rng, scale)})
        elif op == "resize":
            method = draw(step.get("method", "matlab"), rng)
            if method not in RESIZE_METHODS:
                raise PresetError(f"preset '{self.name}': unknown resize method {method!r}")
            if step.get("size", "lr") == "lr" and "scale" not in step:
                new = target
            else:
                factor = float(draw(step["scale"], rng))
                new = (max(1, int(size[0] * factor)), max(1, int(size[1] * factor)))
            ops.append({"op": "resize", "size": list(new), "method": method})
            return new
        elif op == "kernel_downsample":
            s = int(round(scale))
            files = self.kernel_files(s)
            kernel_file = files[int(rng.integers(len(files)))]
            kernel_op: dict[str, Any] = {"op": "kernel_downsample", "kernel_file": str(kernel_file), "scale": s}
            if self.kernel_floor != "off" and is_unresolved(self._kernel(kernel_op), s):
                low, high = self.floor_band
                kernel_op["floor_draw"] = round(low + (high - low) * float(rng.random()), 4)
            ops.append(kernel_op)
            return (math.ceil(size[0] / s), math.ceil(size[1] / s))
        elif op == "noise":
            ops.append(_sample_noise(step, rng, self.name))
        elif op == "noise_model" or (op == "noise_patch" and self.noise.use_model):
            assert self.noise.model is not None
            ops.append(self._model_noise_op(step, rng, self.noise.model))
        elif op == "noise_patch":
            assert self.noise_bank is not None
            path = self.noise_bank.sample(rng).resolve()
            ph, pw = self._patch(str(path)).shape[:2]
            offset = [int(rng.integers(2 * ph)), int(rng.integers(2 * pw))]
            strength = float(draw(step.get("strength", 1.0), rng))
            ops.append({"op": "noise_patch", "file": str(path), "offset": offset, "strength": strength})
        elif op == "jpeg":
            ops.append({"op": "jpeg", "quality": int(round(float(draw(step.get("quality", 75), rng))))})
        elif op == "quantize":
            ops.append({"op": "quantize", "levels": int(step.get("levels", 255))})
        elif op in ISP_OPS:
            ops.append(sample_isp(step, lambda spec: draw(spec, rng), self.name))
        else:
            raise PresetError(f"preset '{self.name}': unknown step {step!r}")
        return size

    def _model_noise_op(self, step: dict[str, Any], rng: np.random.Generator, model: NoiseModel) -> dict[str, Any]:
        """Camera-model noise: the model's parameters inline (replay needs no file), strength and seed drawn."""
        strength = float(draw(step.get("strength", 1.0), rng))
        op = {"op": "noise_model", "file": str(self.noise.model_file), **model_noise_params(model)}
        return {**op, "strength": strength, "seed": _seed(rng)}

    def _sample_kernel(self, spec: Any, rng: np.random.Generator, scale: float) -> dict[str, Any]:
        if spec == "file":
            files = self.kernel_files(int(round(scale)))
            return {"kernel_file": str(files[int(rng.integers(len(files)))])}
        kind = draw(spec.get("type", "iso"), rng)
        size = int(draw(spec.get("size", 21), rng))
        sigma_x = float(draw(spec.get("sigma_x", spec.get("sigma", 1.0)), rng))
        kernel: dict[str, Any] = {"type": kind, "size": size, "sigma_x": sigma_x}
        if kind.endswith("aniso"):
            kernel["sigma_y"] = float(draw(spec.get("sigma_y", spec.get("sigma", 1.0)), rng))
            kernel["theta"] = float(draw(spec.get("theta", [-math.pi, math.pi]), rng))
        if kind.startswith(("generalized", "plateau")):
            kernel["beta"] = float(draw(spec.get("beta", 1.0), rng))
        if kind == "sinc":
            kernel = {"type": "sinc", "size": size, "cutoff": float(draw(spec["cutoff"], rng))}
        return {"kernel": kernel}

    # ------------------------------------------------------------------------------------------------ applying

    def downsample_kernel(self, kernel_file: str | Path, scale: int) -> np.ndarray:
        """A kernel file as the ``kernel_downsample`` op uses it (aligned to the x``scale`` grid)."""
        return self._kernel({"op": "kernel_downsample", "kernel_file": str(kernel_file), "scale": int(scale)})

    def _kernel(self, op: dict[str, Any]) -> np.ndarray:
        key = op.get("kernel_file") or repr(sorted(op["kernel"].items()))
        if op["op"] == "kernel_downsample":  # (I * k)↓s kernels are checked for alignment (kernel_centre)
            key = f"{key}@x{op['scale']}"
        if key not in self._kernel_cache:
            if op["op"] == "kernel_downsample":
                k = aligned_kernel(load_kernel(op["kernel_file"]), int(op["scale"]), op["kernel_file"])[0]
            else:
                k = load_kernel(op["kernel_file"]) if "kernel_file" in op else make_kernel(op["kernel"])
            self._kernel_cache[key] = k
        if op.get("floor_draw") is not None:  # narrowed towards bicubic's width (kernel_floor; not cached)
            return shrink_to_range(self._kernel_cache[key], int(op["scale"]), float(op["floor_draw"]))
        return self._kernel_cache[key]

    def _patch(self, path: str) -> np.ndarray:
        if path not in self._patch_cache:
            self._patch_cache[path] = load_noise_patch(path)
        return self._patch_cache[path]

    def apply(self, hr: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        """Apply recorded ``params`` to (B,C,H,W) [0, 1] images (same params for all B); returns the LR tensor."""
        x = hr.unsqueeze(0) if hr.dim() == 3 else hr
        for op in params["ops"]:
            x = self.apply_op(x, op)
        return x if hr.dim() == 4 else x.squeeze(0)

    def apply_op(self, x: torch.Tensor, op: dict[str, Any]) -> torch.Tensor:
        kind = op["op"]
        if kind == "blur":
            return blur(x, self._kernel(op))
        if kind == "resize":
            return resize(x, tuple(op["size"]), op["method"])
        if kind == "kernel_downsample":
            return blur_subsample(x, self._kernel(op), int(op["scale"]))
        if kind == "noise":
            return _apply_noise(x, op)
        if kind == "noise_model":
            gen = _gen(op["seed"])
            return add_model_noise(
                x, op["a"], op["b"], op["correlation"], gen, op.get("strength", 1.0), signal=op.get("signal", "channel")
            )
        if kind == "noise_patch":
            return inject_noise(x, self._patch(op["file"]), tuple(op["offset"]), op.get("strength", 1.0))
        if kind == "jpeg":
            return jpeg_compress(x, int(op["quality"]))
        if kind == "quantize":
            levels = float(op.get("levels", 255))
            return torch.clamp((x * levels).round(), 0, levels) / levels
        if kind in ISP_OPS:
            return apply_isp(x, op)
        if kind == "learned":
            out = self._learned(op["file"], x.device).degrade(x)
            return out.mean(dim=1, keepdim=True) if x.shape[1] == 1 else out
        raise PresetError(f"unknown degradation op {kind!r}")

    def _learned(self, path: str, device: torch.device) -> DegradationModel:
        key = f"{path}@{device}"
        if key not in self._models:
            self._models[key] = load_degradation_model(path, device)
        return self._models[key]


SOURCE_FLAGS = {KERNELS: "--kernels", NOISE_PATCHES: "--noise-patches", NOISE_MODEL: "--noise-model"}
_UNUSED = {
    KERNELS: "has no step that draws kernel files (kernel_downsample, or blur with 'kernel: file')",
    NOISE_PATCHES: "has no noise_patch or noise_model step to use them",
    NOISE_MODEL: "has no noise_patch or noise_model step to use it",
}


def check_sources_used(deg: Degradation, given: dict[str, Any], flags: dict[str, str] | None = None) -> None:
    """``--kernels``, ``--noise-patches`` and ``--noise-model`` name what a recipe's steps draw from, in every
    subcommand: given (``given[KERNELS]``, ...) to a recipe without such a step, they are refused, never ignored."""
    draws = deg.draws()
    noise = bool(draws & {NOISE_PATCHES, NOISE_MODEL})
    for kind, value in given.items():
        used = noise if kind in (NOISE_PATCHES, NOISE_MODEL) else kind in draws
        if value is not None and not used:
            flag = (flags or SOURCE_FLAGS)[kind]
            raise InputError(f"{flag}: preset '{deg.name}' {_UNUSED[kind]} (e.g. --preset kernel-noise --kernels DIR)")


def replay(hr: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
    """Re-apply recorded ``params`` (a manifest line's): the ops are self-contained, no preset or folder needed."""
    return Degradation({"name": str(params.get("preset", "replay")), "steps": []}).apply(hr, params)


def learned_degradation(model_path: str | Path) -> Degradation:
    """A recipe applying a learned degradation model (``learn-degradation``) to the MATLAB-bicubic LR image; a model
    trained on noisy bicubic input (CycleSR's ``translator.pt``: ``meta.input_noise_sigma``) gets that noise first."""
    steps: list[dict[str, Any]] = [{"op": "resize", "size": "lr", "method": "matlab"}]
    sigma = float(load_degradation_model(model_path, "cpu").meta.get("input_noise_sigma", 0) or 0)
    if sigma > 0:
        steps.append({"op": "noise", "type": "gaussian", "sigma": sigma})
    config = {"name": f"learned:{Path(model_path).name}", "steps": steps}
    deg = Degradation(config)
    deg.config["learned_model"] = str(Path(model_path).resolve())
    return deg


def sample_with_model(deg: Degradation, rng: np.random.Generator, hr_shape: tuple[int, ...], scale: float) -> dict:
    """``deg.sample`` plus the learned-model op when the recipe carries one."""
    params = deg.sample(rng, hr_shape, scale)
    if "learned_model" in deg.config:
        params["ops"].append({"op": "learned", "file": deg.config["learned_model"]})
    return params


def _sample_noise(step: dict[str, Any], rng: np.random.Generator, name: str) -> dict[str, Any]:
    kind = draw(step.get("type", "gaussian"), rng)
    if kind not in NOISE_TYPES:
        raise PresetError(f"preset '{name}': unknown noise type {kind!r}")
    op: dict[str, Any] = {"op": "noise", "type": kind}
    if kind in ("gaussian", "poisson_gaussian"):
        op["sigma"] = float(draw(step.get("sigma", 10.0), rng))
    if kind == "gaussian" or kind == "realesrgan_poisson":
        gray = step.get("gray", False)
        op["gray"] = bool(rng.random() < float(gray)) if isinstance(gray, float) else bool(gray)
    if kind == "poisson":
        op["peak"] = float(draw(step.get("peak", 100.0), rng))
    if kind == "poisson_gaussian":
        op["alpha"] = float(draw(step.get("alpha", 1.0), rng))
    if kind == "realesrgan_poisson":
        op["scale"] = float(draw(step.get("scale", 1.0), rng))
    op["seed"] = _seed(rng)
    return op


def _apply_noise(x: torch.Tensor, op: dict[str, Any]) -> torch.Tensor:
    gen = _gen(op["seed"])
    kind = op["type"]
    if kind == "gaussian":
        return add_gaussian(x, op["sigma"], gen, gray=op.get("gray", False))
    if kind == "poisson":
        return add_poisson(x, op["peak"], gen)
    if kind == "poisson_gaussian":
        return add_poisson_gaussian(x, op["sigma"], gen, alpha=op.get("alpha", 1.0))
    if kind == "realesrgan_poisson":
        return add_realesrgan_poisson(x, op["scale"], gen, gray=op.get("gray", False))
    raise PresetError(f"unknown noise type {kind!r}")


# ---------------------------------------------------------------------------------------------------- Real-ESRGAN


def _realesrgan_kernel(cfg: dict[str, Any], rng: np.random.Generator, suffix: str) -> dict[str, Any]:
    """One kernel as ``RealESRGANDataset.__getitem__`` draws it (sizes 7..21, sinc or ``random_mixed_kernels``)."""
    sizes = list(cfg.get("kernel_range", [2 * v + 1 for v in range(3, 11)]))
    pad_to = int(cfg.get("blur_kernel_size" + suffix, 21))
    size = int(sizes[int(rng.integers(len(sizes)))])
    if rng.random() < float(cfg["sinc_prob" + suffix]):
        low = math.pi / 3 if size < 13 else math.pi / 5
        return {"type": "sinc", "size": size, "cutoff": float(rng.uniform(low, math.pi)), "pad_to": pad_to}
    kinds, probs = cfg["kernel_list" + suffix], np.asarray(cfg["kernel_prob" + suffix], dtype=np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=probs / probs.sum()))]
    sig = cfg["blur_sigma" + suffix]
    spec: dict[str, Any] = {"type": kind, "size": size, "sigma_x": float(rng.uniform(sig[0], sig[1])), "pad_to": pad_to}
    if kind.endswith("aniso"):
        spec["sigma_y"] = float(rng.uniform(sig[0], sig[1]))
        spec["theta"] = float(rng.uniform(-math.pi, math.pi))
    if kind.startswith(("generalized", "plateau")):
        lo, hi = cfg[("betag_range" if kind.startswith("generalized") else "betap_range") + suffix]
        spec["beta"] = float(rng.uniform(lo, 1)) if rng.random() < 0.5 else float(rng.uniform(1, hi))
    return spec


def _realesrgan_noise(cfg: dict[str, Any], rng: np.random.Generator, suffix: str) -> dict[str, Any]:
    if rng.random() < float(cfg["gaussian_noise_prob" + suffix]):
        lo, hi = cfg["noise_range" + suffix]
        op = {"op": "noise", "type": "gaussian", "sigma": float(rng.uniform(lo, hi))}
    else:
        lo, hi = cfg["poisson_scale_range" + suffix]
        op = {"op": "noise", "type": "realesrgan_poisson", "scale": float(rng.uniform(lo, hi))}
    op["gray"] = bool(rng.random() < float(cfg["gray_noise_prob" + suffix]))
    op["seed"] = _seed(rng)
    return op


def _realesrgan_resize_factor(cfg: dict[str, Any], rng: np.random.Generator, suffix: str) -> float:
    probs = np.asarray(cfg["resize_prob" + suffix], dtype=np.float64)
    kind = ("up", "down", "keep")[int(rng.choice(3, p=probs / probs.sum()))]
    lo, hi = cfg["resize_range" + suffix]
    return float(rng.uniform(1, hi)) if kind == "up" else float(rng.uniform(lo, 1)) if kind == "down" else 1.0


def _mode(rng: np.random.Generator) -> str:
    return ("area", "bilinear", "bicubic")[int(rng.integers(3))]


def _sample_realesrgan(
    cfg: dict[str, Any], rng: np.random.Generator, hr: tuple[int, int], target: tuple[int, int]
) -> list[dict[str, Any]]:
    """Real-ESRGAN ``feed_data``: blur, resize, noise, JPEG; again (blur w.p.); final resize + sinc and JPEG, random
    order; 8-bit rounding. Sizes as in its code (``F.interpolate`` floors; stage 2 relative to the LR size)."""
    kernel1, kernel2 = _realesrgan_kernel(cfg, rng, ""), _realesrgan_kernel(cfg, rng, "2")
    sinc = None
    if rng.random() < float(cfg["final_sinc_prob"]):
        sizes = list(cfg.get("kernel_range", [2 * v + 1 for v in range(3, 11)]))
        size = int(sizes[int(rng.integers(len(sizes)))])
        sinc = {"type": "sinc", "size": size, "cutoff": float(rng.uniform(math.pi / 3, math.pi)), "pad_to": 21}
    ops: list[dict[str, Any]] = [{"op": "blur", "kernel": kernel1}]
    f1 = _realesrgan_resize_factor(cfg, rng, "")
    ops.append({"op": "resize", "size": [max(1, int(hr[0] * f1)), max(1, int(hr[1] * f1))], "method": _mode(rng)})
    ops.append(_realesrgan_noise(cfg, rng, ""))
    ops.append({"op": "jpeg", "quality": int(round(rng.uniform(*cfg["jpeg_range"])))})
    if rng.random() < float(cfg["second_blur_prob"]):
        ops.append({"op": "blur", "kernel": kernel2})
    f2 = _realesrgan_resize_factor(cfg, rng, "2")
    ops.append(
        {"op": "resize", "size": [max(1, int(target[0] * f2)), max(1, int(target[1] * f2))], "method": _mode(rng)}
    )
    ops.append(_realesrgan_noise(cfg, rng, "2"))
    final_resize = {"op": "resize", "size": list(target), "method": _mode(rng)}
    jpeg = {"op": "jpeg", "quality": int(round(rng.uniform(*cfg["jpeg_range2"])))}
    tail = [final_resize] + ([{"op": "blur", "kernel": sinc}] if sinc else [])
    ops += tail + [jpeg] if rng.random() < 0.5 else [jpeg] + tail
    ops.append({"op": "quantize", "levels": 255})
    return ops
