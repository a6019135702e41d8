"""The five ways ``make-pairs`` turns clean images into realistic LR/HR pairs (NTIRE 2020 / AIM 2020 methods).

Every mode works in two steps so that any pair can be regenerated from its manifest line:
``sample(rng, hr)`` draws every random choice as a JSON-serialisable dict, and ``degrade(hr, params, source)``
computes the LR image from the HR image and those parameters alone (deterministic).

* ``kernel-noise``: X. Ji et al., "Real-World Super-Resolution via Kernel Estimation and Noise Injection",
  CVPRW 2020 (NTIRE 2020 winner; https://github.com/jixiaozhong/RealSR): ``LR = (HR * k)↓s + n`` with ``k`` a
  KernelGAN kernel estimated on the real photos and ``n`` a real noise patch (mean removed).
  ``--add-source``: the real photos, bicubic-downscaled by the clean-up factor (removes their noise), are
  extra HR images.
* ``preset``: a degradation recipe (``generic`` = Samsung-SLSI-MSL, NTIRE 2020, "Real-World Super-Resolution
  using Generative Adversarial Networks", ``realesrgan`` = X. Wang et al., ICCVW 2021, ``bicubic``).
* ``learned``: a DSGAN (M. Fritsche et al., "Frequency Separation for Real-World Super-Resolution", ICCVW 2019,
  AIM 2019/NTIRE 2020 baselines) or CycleGAN degradation model applied to the bicubic-downscaled HR image.
* ``aligned``: registered same-scale pairs (Samsung-SLSI-MSL, NTIRE 2020 Track 2, smartphone photos vs DSLR):
  the HR side is upscaled ``s`` times (bicubic = T1, a SR model = T2/T3) or the LR side is downscaled (T4).
* ``self``: the input images are HR and their bicubic ``1/s`` versions are LR (ZSSR, Shocher et al., CVPR
  2018; SimUSR, Ahn et al., CVPRW 2020).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.degradations.resize import imresize
from realsr_cli.errors import InputError
from realsr_cli.io.images import IMAGE_EXTENSIONS, read_image, to_float
from realsr_cli.pairs.crop import Box, multiple_of_scale_box

MODES = ("kernel-noise", "preset", "learned", "aligned", "self")


@dataclass(frozen=True)
class Source:
    """One image that yields pairs: ``key`` names its pairs; ``cleanup`` is the ``--add-source`` downscale factor."""

    path: Path
    key: str
    cleanup: float | None = None


@dataclass
class LoadedHR:
    """The HR image a mode degrades (a multiple of ``s`` in size) and how it was obtained from the file."""

    hr: torch.Tensor
    dtype: np.dtype
    info: dict[str, Any]


def image_tensor(path: Path, device: torch.device | str = "cpu") -> tuple[torch.Tensor, np.dtype]:
    """An image file as a (1, 3, H, W) float32 RGB tensor in [0, 1] (gray is repeated, alpha dropped)."""
    image = read_image(path)
    pixels = to_float(image.pixels)
    pixels = pixels[:, :, :1].repeat(3, axis=2) if image.is_gray else pixels[:, :, :3]
    tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None].to(device)
    return tensor, image.pixels.dtype


def crop_to_scale(x: torch.Tensor, scale: int) -> tuple[torch.Tensor, Box]:
    box = multiple_of_scale_box(int(x.shape[-2]), int(x.shape[-1]), scale)
    rows, cols = box.slices()
    return x[..., rows, cols], box


class Mode:
    """Base mode: HR = the source image (optionally cleaned up), cropped to a multiple of the scale."""

    name = "mode"

    def __init__(self, scale: int, device: torch.device | str = "cpu") -> None:
        self.scale = int(scale)
        self.device = torch.device(device)

    def options(self) -> dict[str, Any]:
        """The run options this mode depends on (recorded in every manifest line)."""
        return {}

    def load(self, source: Source) -> LoadedHR:
        x, dtype = image_tensor(source.path, self.device)
        info: dict[str, Any] = {"source_size": [int(x.shape[-2]), int(x.shape[-1])]}
        if source.cleanup:
            x = imresize(x, scale=1.0 / source.cleanup).clamp_(0, 1)
            info["cleanup_scale"] = source.cleanup
        x, box = crop_to_scale(x, self.scale)
        info["crop"] = box.as_list()
        return LoadedHR(x, dtype, info)

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return {}

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        raise NotImplementedError


class SelfMode(Mode):
    """ZSSR/SimUSR self pairs: LR = MATLAB bicubic ``imresize(HR, 1/s)``."""

    name = "self"

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return {"downscale": "matlab-bicubic"}

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        return imresize(hr, scale=1.0 / self.scale).clamp(0, 1)


class KernelNoiseMode(Mode):
    """Ji et al. (NTIRE 2020 winner): ``(HR * k)↓s`` with an estimated kernel, plus a real noise patch."""

    name = "kernel-noise"

    def __init__(self, scale: int, kernels: Path, noise_patches: Path | None = None, device: str = "cpu") -> None:
        super().__init__(scale, device)
        from realsr_cli.degradations.kernels import find_kernel_files

        self.kernels_dir = Path(kernels).resolve()
        if not self.kernels_dir.is_dir():
            raise InputError(f"--kernels {kernels}: no such folder")
        self.kernel_files = sorted(find_kernel_files(self.kernels_dir, self.scale))
        if not self.kernel_files:
            raise InputError(
                f"--kernels {kernels}: no kernels for x{self.scale} (expected <name>_kernel_x{self.scale}.mat/.npy, "
                "KernelGAN results/<img>/ folders, or .npy/.mat/.png kernel files)"
            )
        self.noise_dir = Path(noise_patches).resolve() if noise_patches else None
        self.bank = _noise_bank(self.noise_dir) if self.noise_dir else None
        self._kernels: dict[str, np.ndarray] = {}

    def options(self) -> dict[str, Any]:
        return {"kernels": str(self.kernels_dir), "noise_patches": str(self.noise_dir) if self.noise_dir else None}

    def kernel(self, path: str) -> np.ndarray:
        from realsr_cli.degradations.kernels import load_kernel

        if path not in self._kernels:
            self._kernels[path] = load_kernel(Path(path))
        return self._kernels[path]

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        params: dict[str, Any] = {"kernel_file": str(self.kernel_files[int(rng.integers(len(self.kernel_files)))])}
        if self.bank is not None:
            params["noise_patch"] = str(self.bank.sample(rng))
        return params

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        from realsr_cli.degradations.kernels import blur_subsample

        kernel = self.kernel(params["kernel_file"])
        h, w = int(hr.shape[-2]), int(hr.shape[-1])
        if max(kernel.shape) > min(h, w):
            raise InputError(
                f"{source.path}: kernel {params['kernel_file']} is {kernel.shape[1]}x{kernel.shape[0]}, "
                f"larger than the image ({w}x{h})"
            )
        lr = blur_subsample(hr, kernel, self.scale)
        if params.get("noise_patch") and self.bank is not None:
            lr = self.bank.inject(lr, Path(params["noise_patch"]))
        return lr.clamp(0, 1)


def _noise_bank(folder: Path) -> Any:
    from realsr_cli.degradations.noise import NoisePatchBank

    if not folder.is_dir():
        raise InputError(f"--noise-patches {folder}: no such folder")
    if not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.rglob("*")):
        raise InputError(f"--noise-patches {folder}: folder holds no noise patch images")
    return NoisePatchBank(folder)


class PresetMode(Mode):
    """A degradation recipe from ``presets/degradation/`` or a YAML file, run by the degradation engine."""

    name = "preset"

    def __init__(
        self,
        scale: int,
        preset: str,
        kernels: Path | None = None,
        noise_patches: Path | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(scale, device)
        from realsr_cli.degradations.pipeline import Degradation

        for flag, folder in (("--kernels", kernels), ("--noise-patches", noise_patches)):
            if folder is not None and not Path(folder).is_dir():
                raise InputError(f"{flag} {folder}: no such folder")
        self.preset = str(Path(preset).resolve()) if Path(preset).suffix.lower() in (".yaml", ".yml") else str(preset)
        self.kernels_dir = Path(kernels).resolve() if kernels else None
        self.noise_dir = Path(noise_patches).resolve() if noise_patches else None
        self.degradation = Degradation.from_preset(
            self.preset, kernels_dir=self.kernels_dir, noise_patches_dir=self.noise_dir
        )

    def options(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "kernels": str(self.kernels_dir) if self.kernels_dir else None,
            "noise_patches": str(self.noise_dir) if self.noise_dir else None,
        }

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return self.degradation.sample(rng, tuple(int(v) for v in hr.shape[-2:]), self.scale)

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        return self.degradation.apply(hr, params).clamp(0, 1)


class LearnedMode(Mode):
    """A DSGAN/CycleGAN degradation model applied to the bicubic-downscaled HR image."""

    name = "learned"

    def __init__(self, scale: int, model_file: Path, device: str = "cpu") -> None:
        super().__init__(scale, device)
        model_file = Path(model_file)
        if not model_file.is_file():
            raise InputError(f"--degradation-model {model_file}: no such file")
        try:
            from realsr_cli.learn.degradation_model import load_degradation_model
        except ImportError:
            raise InputError(
                "--degradation-model: learned degradation models are not available in this build"
            ) from None
        self.model_file = model_file.resolve()
        self.model = load_degradation_model(model_file, self.device)
        model_scale = int(getattr(self.model, "scale", scale))
        if model_scale != self.scale:
            raise InputError(f"--degradation-model {model_file}: trained for x{model_scale}, but -s {self.scale}")

    def options(self) -> dict[str, Any]:
        return {"degradation_model": str(self.model_file)}

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return {"downscale": "matlab-bicubic", "method": getattr(self.model, "method", None)}

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        bicubic = imresize(hr, scale=1.0 / self.scale).clamp(0, 1)
        with torch.inference_mode():
            return self.model.apply(bicubic).clamp(0, 1)


class AlignedMode(Mode):
    """Registered same-scale images (e.g. phone vs DSLR): HR side upscaled (T1-T3) or LR side downscaled (T4)."""

    name = "aligned"

    def __init__(
        self,
        scale: int,
        aligned_lr: Path,
        hr_upscaler: str = "bicubic",
        downscale_lr: bool = False,
        device: str = "cpu",
    ) -> None:
        super().__init__(scale, device)
        self.aligned_dir = Path(aligned_lr).resolve()
        if not self.aligned_dir.is_dir():
            raise InputError(f"--aligned-lr {aligned_lr}: no such folder")
        self.lr_files = {p.stem: p for p in sorted(self.aligned_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS}
        if not self.lr_files:
            raise InputError(f"--aligned-lr {aligned_lr}: folder holds no images")
        self.downscale_lr = bool(downscale_lr)
        self.hr_upscaler = "none" if self.downscale_lr else str(hr_upscaler)
        self.model = None
        if self.hr_upscaler not in ("bicubic", "none"):
            self.hr_upscaler = str(Path(self.hr_upscaler).resolve())
            self.model = _load_sr_model(Path(self.hr_upscaler), self.scale, self.device)

    def options(self) -> dict[str, Any]:
        return {"aligned_lr": str(self.aligned_dir), "hr_upscaler": self.hr_upscaler, "downscale_lr": self.downscale_lr}

    def lr_file(self, source: Source) -> Path:
        path = self.lr_files.get(source.path.stem)
        if path is None:
            raise InputError(f"{source.path}: no aligned LR image named {source.path.stem}.* in {self.aligned_dir}")
        return path

    def load(self, source: Source) -> LoadedHR:
        hr, dtype = image_tensor(source.path, self.device)
        lr_path = self.lr_file(source)
        info: dict[str, Any] = {"source_size": [int(hr.shape[-2]), int(hr.shape[-1])], "aligned_lr": str(lr_path)}
        if self.downscale_lr:  # T4: HR stays, cropped to a multiple of s
            hr, box = crop_to_scale(hr, self.scale)
            info["crop"] = box.as_list()
            return LoadedHR(hr, dtype, info)
        info["crop"] = [0, 0, int(hr.shape[-2]), int(hr.shape[-1])]
        return LoadedHR(self.upscale(hr), dtype, info)

    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        if self.model is None:
            return imresize(x, scale=float(self.scale)).clamp(0, 1)
        with torch.inference_mode():
            return self.model(x).clamp(0, 1)

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        lr, _ = image_tensor(self.lr_file(source), self.device)
        if self.downscale_lr:
            expected = (int(hr.shape[-2]), int(hr.shape[-1]))
            lr = lr[..., : expected[0], : expected[1]]
        else:
            expected = (int(hr.shape[-2]) // self.scale, int(hr.shape[-1]) // self.scale)
        if tuple(lr.shape[-2:]) != expected:
            raise InputError(
                f"{source.path}: aligned LR image {self.lr_file(source)} is {lr.shape[-1]}x{lr.shape[-2]}, "
                f"expected the same size as the HR image ({expected[1]}x{expected[0]})"
            )
        return imresize(lr, scale=1.0 / self.scale).clamp(0, 1) if self.downscale_lr else lr


def _load_sr_model(path: Path, scale: int, device: torch.device) -> torch.nn.Module:
    if not path.is_file():
        raise InputError(f"--hr-upscaler {path}: expected 'bicubic' or a model.pt file")
    from realsr_cli.models.checkpoint import load_model

    model, info = load_model(path, device=device)
    if int(info.scale) != scale:
        raise InputError(f"--hr-upscaler {path}: a x{info.scale} model, but -s {scale}")
    return model.eval()


def build_mode(
    scale: int,
    *,
    kernels: Path | None = None,
    noise_patches: Path | None = None,
    preset: str | None = None,
    degradation_model: Path | None = None,
    aligned_lr: Path | None = None,
    hr_upscaler: str = "bicubic",
    downscale_lr: bool = False,
    self_pairs: bool = False,
    device: str = "cpu",
) -> Mode:
    """Pick the mode from the options; exactly one of the five must be chosen."""
    chosen = [
        name
        for name, on in (
            ("--preset", preset is not None),
            ("--kernels", kernels is not None and preset is None),
            ("--degradation-model", degradation_model is not None),
            ("--aligned-lr", aligned_lr is not None),
            ("--self", self_pairs),
        )
        if on
    ]
    if not chosen:
        raise InputError(
            "choose a mode: --kernels DIR [--noise-patches DIR], --preset NAME, --degradation-model FILE, "
            "--aligned-lr DIR or --self"
        )
    if len(chosen) > 1:
        raise InputError(f"choose one mode, not {' and '.join(chosen)}")
    if preset is not None:
        return PresetMode(scale, preset, kernels, noise_patches, device)
    if noise_patches is not None and kernels is None:
        raise InputError("--noise-patches needs --kernels DIR (or a --preset that injects noise patches)")
    if kernels is not None:
        return KernelNoiseMode(scale, kernels, noise_patches, device)
    if degradation_model is not None:
        return LearnedMode(scale, degradation_model, device)
    if aligned_lr is not None:
        return AlignedMode(scale, aligned_lr, hr_upscaler, downscale_lr, device)
    return SelfMode(scale, device)


def mode_from_record(record: dict[str, Any], device: str = "cpu") -> Mode:
    """Rebuild the mode that wrote a manifest line (for regenerating or checking its pair)."""
    opts = {k: v for k, v in record.get("mode_options", {}).items()}
    mode, scale = record["mode"], int(record["scale"])
    path = lambda key: Path(opts[key]) if opts.get(key) else None  # noqa: E731
    if mode == "self":
        return SelfMode(scale, device)
    if mode == "kernel-noise":
        return KernelNoiseMode(scale, path("kernels"), path("noise_patches"), device)
    if mode == "preset":
        return PresetMode(scale, opts["preset"], path("kernels"), path("noise_patches"), device)
    if mode == "learned":
        return LearnedMode(scale, path("degradation_model"), device)
    if mode == "aligned":
        return AlignedMode(scale, path("aligned_lr"), opts.get("hr_upscaler", "bicubic"), opts["downscale_lr"], device)
    raise InputError(f"unknown pair mode {mode!r} in manifest (known: {', '.join(MODES)})")
