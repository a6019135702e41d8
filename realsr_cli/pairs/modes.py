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

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from realsr_cli.degradations.jpeg import jpeg_compress
from realsr_cli.degradations.resize import imresize
from realsr_cli.errors import InputError
from realsr_cli.io.images import IMAGE_EXTENSIONS, read_image
from realsr_cli.io.tensors import read_tensor, to_tensor
from realsr_cli.pairs.crop import Box, multiple_of_scale_box
from realsr_cli.pairs.jpeg_step import (
    ModelCompensation,
    compensate_model,
    compensate_noise,
    jpeg_noise_gain,
    jpeg_option,
    resolve_jpeg,
)

if TYPE_CHECKING:
    from realsr_cli.pairs.spectral_match import SpectralMatch

MODES = ("kernel-noise", "preset", "learned", "aligned", "self")
UPSCALER_TILE, UPSCALER_PAD = 256, 16  # T2/T3 HR enlargement: LR tiles with context, bounded memory


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


def crop_to_scale(x: torch.Tensor, scale: int) -> tuple[torch.Tensor, Box]:
    box = multiple_of_scale_box(int(x.shape[-2]), int(x.shape[-1]), scale)
    rows, cols = box.slices()
    return x[..., rows, cols], box


class Mode(ABC):
    """Base mode: HR = the source image (optionally cleaned up), cropped to a multiple of the scale."""

    name = "mode"

    def __init__(self, scale: int, device: torch.device | str = "cpu") -> None:
        self.scale = int(scale)
        self.device = torch.device(device)

    def options(self) -> dict[str, Any]:
        """The run options this mode depends on (recorded in every manifest line)."""
        return {}

    def load(self, source: Source) -> LoadedHR:
        image = read_image(source.path)
        x, dtype = to_tensor(image.pixels, device=self.device), image.pixels.dtype
        info: dict[str, Any] = {"source_size": [int(x.shape[-2]), int(x.shape[-1])]}
        if source.cleanup:
            x = imresize(x, scale=1.0 / source.cleanup).clamp_(0, 1)
            info["cleanup_scale"] = source.cleanup
            info["cleaned_size"] = [int(x.shape[-2]), int(x.shape[-1])]
        x, box = crop_to_scale(x, self.scale)
        info["crop"] = box.as_list()
        return LoadedHR(x, dtype, info)

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return {}

    @abstractmethod
    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        """The LR image of ``hr`` (exactly ``1/s`` of its size), from ``params`` alone."""

    def sample_pair(self, rng: np.random.Generator, lr: torch.Tensor) -> dict[str, Any] | None:
        """Random choices made per pair on its LR crop (None: the mode has no per-pair step)."""
        return None

    def degrade_pair(self, lr: torch.Tensor, params: dict[str, Any] | None) -> torch.Tensor:
        return lr


class SelfMode(Mode):
    """ZSSR/SimUSR self pairs: LR = MATLAB bicubic ``imresize(HR, 1/s)``."""

    name = "self"

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return {"downscale": "matlab-bicubic"}

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        return imresize(hr, scale=1.0 / self.scale).clamp(0, 1)


class RecipeMode(Mode):
    """A mode run by the degradation engine (``realsr_cli.degradations.pipeline.Degradation``)."""

    degradation: Any
    _sizes: dict[str, tuple[int, int]]

    def __init__(self, scale: int, device: torch.device | str = "cpu") -> None:
        super().__init__(scale, device)
        self._sizes = {}

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        return self.degradation.sample(rng, tuple(int(v) for v in hr.shape[-2:]), self.scale)

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        self.check_kernels(hr, params, source)
        return self.degradation.apply(hr, params).clamp(0, 1)

    def check_kernels(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> None:
        """An estimated kernel (file) larger than the image it blurs is an error naming both."""
        h, w = int(hr.shape[-2]), int(hr.shape[-1])
        for op in params.get("ops", []):
            if op.get("op") == "resize":
                h, w = (int(v) for v in op["size"])
            if "kernel_file" not in op:
                continue
            kh, kw = self.kernel_size(op["kernel_file"])
            if kh > h or kw > w:
                raise InputError(
                    f"{source.path}: kernel {op['kernel_file']} is {kw}x{kh}, larger than the image ({w}x{h})"
                )
            if op.get("op") == "kernel_downsample":
                h, w = -(-h // int(op["scale"])), -(-w // int(op["scale"]))

    def kernel_size(self, path: str) -> tuple[int, int]:
        if path not in self._sizes:
            from realsr_cli.degradations.kernels import load_kernel

            self._sizes[path] = tuple(load_kernel(path).shape[:2])
        return self._sizes[path]


def check_kernel_centres(files: list[Path], scale: int) -> None:
    """Every ``(I * k)↓s`` kernel file must be centred (issue 19): off by up to one LR pixel it is re-centred when
    loaded (one warning line, from the main process only), beyond it is refused (``InputError`` naming the file)."""
    import multiprocessing

    from realsr_cli.console import warn_line
    from realsr_cli.degradations.kernel_centre import aligned_kernel
    from realsr_cli.degradations.kernels import load_kernel

    for path in files:
        _, note = aligned_kernel(load_kernel(path), scale, str(path))
        if note and multiprocessing.parent_process() is None:
            warn_line(note)


def _folder(flag: str, folder: Path | str | None) -> Path | None:
    if folder is None:
        return None
    path = Path(folder).resolve()
    if not path.is_dir():
        raise InputError(f"{flag} {folder}: no such folder")
    return path


def _required_folder(flag: str, folder: Path | str | None) -> Path:
    """``_folder`` of an option the mode cannot do without (a manifest line may lack it)."""
    path = _folder(flag, folder)
    if path is None:
        raise InputError(f"{flag}: a folder is needed")
    return path


def _file(flag: str, path: Path | str | None) -> Path | None:
    if path is None:
        return None
    if not Path(path).is_file():
        raise InputError(f"{flag} {path}: no such file")
    return Path(path).resolve()


def _model_used(degradation: Any) -> str | None:
    """The noise model file a recipe synthesises ``noise_patch`` steps from (forced or chosen), else None."""
    if degradation is None or not degradation.noise.use_model:
        return None
    return str(degradation.noise.model_file)


class KernelNoiseMode(RecipeMode):
    """Ji et al. (NTIRE 2020 winner): ``(HR * k)↓s`` with an estimated kernel, plus a real noise patch.

    Runs the engine's ``kernel-noise`` preset in two parts: the kernel step on the whole image, then the noise step
    on each pair's LR crop with its own randomly drawn noise patch (as RealSR's ``LQGT_dataset.py`` injects one per
    training patch), skipped when no ``--noise-patches`` are given. The noise is synthesised from the camera noise
    model instead (a fresh draw per pair) with ``--noise-model FILE``, or when the patch folder holds a
    ``model.json`` and fewer than 8 patches (``realsr_cli.degradations.noise.noise_sources``).
    The kernel is the folder's camera kernel when it has one (``--per-photo-kernels``: one of the per-photo files per
    image, RealSR's way); every kernel is checked for centring (``check_kernel_centres``). JPEG at the camera's
    measured quality is the last step of each pair (:mod:`realsr_cli.pairs.jpeg_step`; ``--jpeg``).
    """

    name = "kernel-noise"

    def __init__(
        self,
        scale: int,
        kernels: Path | None,
        noise_patches: Path | None = None,
        device: str = "cpu",
        noise_model: Path | None = None,
        per_photo_kernels: bool = False,
        jpeg: str | int | None = "auto",
        kernel_floor: str | None = None,
        floor_band: tuple[float, float] | None = None,
        sharpen: str | None = None,
        sharpen_amount: float | None = None,
    ) -> None:
        super().__init__(scale, device)
        from realsr_cli.degradations.kernels import find_kernel_files
        from realsr_cli.degradations.pipeline import Degradation
        from realsr_cli.presets import load_preset

        self.kernels_dir = _required_folder("--kernels", kernels)
        self.noise_dir = _folder("--noise-patches", noise_patches)
        self.per_photo_kernels = bool(per_photo_kernels)
        # the camera kernel when the folder has one (unless --per-photo-kernels); a clear error when there are none
        self.kernel_files = find_kernel_files(self.kernels_dir, self.scale, per_photo=self.per_photo_kernels)
        check_kernel_centres(self.kernel_files, self.scale)
        self.jpeg = resolve_jpeg(jpeg, self.kernels_dir, self.noise_dir)
        self._gains: dict[tuple[str, int], float] = {}
        self._compensations: dict[tuple[str, int], ModelCompensation] = {}
        config = load_preset("kernel-noise", "degradation")
        noise_steps = [step for step in config["steps"] if step.get("op") == "noise_patch"]
        config["steps"] = [step for step in config["steps"] if step.get("op") != "noise_patch"]
        self.degradation = Degradation(config, self.kernels_dir)
        self.degradation.per_photo_kernels = self.per_photo_kernels
        self.floor_band = None if floor_band is None else (float(floor_band[0]), float(floor_band[1]))
        self.kernel_floor = _kernel_floor_mode(kernel_floor, self.kernels_dir, matched=self.floor_band is not None)
        self.degradation.kernel_floor = self.kernel_floor
        if self.floor_band is not None:
            self.degradation.floor_band = self.floor_band
        self.sharpen, self.sharpen_amount = _sharpen_mode(sharpen, sharpen_amount, self.kernels_dir)
        self.noise = None
        if self.noise_dir is not None or noise_model is not None:
            steps = {"name": "noise-patch", "steps": noise_steps}
            self.noise = Degradation(
                steps, noise_patches_dir=self.noise_dir, noise_model=_file("--noise-model", noise_model)
            )

    def options(self) -> dict[str, Any]:
        return {
            "kernels": str(self.kernels_dir),
            "noise_patches": str(self.noise_dir) if self.noise_dir else None,
            "noise_model": _model_used(self.noise),
            "per_photo_kernels": self.per_photo_kernels,
            "kernel_floor": self.kernel_floor,
            **({"floor_band": list(self.floor_band)} if self.floor_band is not None else {}),
            "sharpen": self.sharpen,
            **({"sharpen_amount": self.sharpen_amount} if self.sharpen_amount is not None else {}),
            "jpeg": jpeg_option(self.jpeg),
        }

    def needs_spectral_match(self) -> bool:
        """Whether make-pairs must first match the camera spectrum: ``--kernel-floor match`` with a kernel at
        KernelGAN's floor and no band chosen yet, or ``--sharpen auto`` with no amount chosen yet."""
        return self._floor_to_match() or self._sharpen_to_match()

    def _floor_to_match(self) -> bool:
        from realsr_cli.degradations.kernel_floor import is_unresolved

        if self.kernel_floor != "match" or self.floor_band is not None:
            return False
        return any(
            is_unresolved(self.degradation.downsample_kernel(f, self.scale), self.scale) for f in self.kernel_files
        )

    def _sharpen_to_match(self) -> bool:
        return self.sharpen == "auto" and self.sharpen_amount is None

    def spectral_match(self, sources: list[Source], seed: int) -> SpectralMatch | None:
        """Match the floor band and the sharpening on central crops of up to ``MATCH_IMAGES`` sources (evenly
        spaced); sets them and returns the evidence (None, nothing set, when no crop gives a spectrum tile)."""
        from realsr_cli.degradations.spectrum import SPECTRUM_FILE, read_signature_and_tiles
        from realsr_cli.pairs import spectral_match as sm

        camera, tiles = read_signature_and_tiles(self.kernels_dir / SPECTRUM_FILE)
        picks = np.unique(np.linspace(0, len(sources) - 1, min(len(sources), sm.MATCH_IMAGES)).astype(int))
        hrs = [sm.central_crop(self.load(sources[i]).hr, sm.MATCH_CROP, self.scale) for i in picks]
        floor, sharpen = self._floor_to_match(), self._sharpen_to_match()
        match = sm.match_sharpness(self, camera, hrs, floor=floor, sharpen=sharpen, seed=seed)
        if match is None:
            return None
        match.camera_tiles = tiles
        if match.band is not None:
            self.floor_band = self.degradation.floor_band = match.band
        if sharpen:
            self.sharpen_amount = match.sharpen or 0.0
        return match

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        """The kernel step's draws, then the camera's sharpening (``--sharpen``) right after it."""
        params = super().sample(rng, hr)
        if self.sharpen_amount:
            from realsr_cli.pairs.spectral_match import SHARPEN_RADIUS

            at = next(i for i, op in enumerate(params["ops"]) if op["op"] == "kernel_downsample") + 1
            op = {"op": "sharpen", "radius": SHARPEN_RADIUS, "amount": round(self.sharpen_amount, 4), "threshold": 0.0}
            params["ops"].insert(at, op)
        return params

    def sample_pair(self, rng: np.random.Generator, lr: torch.Tensor) -> dict[str, Any] | None:
        """A noise patch (and its offset) for each pair, as RealSR's data loader draws one per training patch;
        then the JPEG quality of the pair (the camera chain's last step, ``jpeg`` key) when JPEG is on."""
        params = None if self.noise is None else self.noise.sample(rng, tuple(int(v) for v in lr.shape[-2:]), 1)
        if self.jpeg is None:
            return params
        params = params if params is not None else {"ops": []}
        jpeg = self.jpeg.sample(rng)
        compensate_noise(params["ops"], jpeg["quality"], self.patch_gain, self.model_compensation)
        return {**params, "jpeg": jpeg}

    def patch_gain(self, op: dict[str, Any], quality: int) -> float:
        """How much to amplify a noise patch so it survives the pair's JPEG (cached per patch file and quality)."""
        key = (op["file"], quality)
        if key not in self._gains:
            assert self.noise is not None, "noise ops are drawn by self.noise"
            patch = torch.from_numpy(np.ascontiguousarray(self.noise._patch(op["file"]).transpose(2, 0, 1)))
            field = patch[None].expand(1, 3, -1, -1) if patch.shape[0] == 1 else patch[None, :3]
            self._gains[key] = jpeg_noise_gain(field, quality)
        return self._gains[key]

    def model_compensation(self, op: dict[str, Any], quality: int) -> ModelCompensation:
        """The noise model's line before the pair's JPEG (cached per model and quality)."""
        key = (json.dumps([op["a"], op["b"], op.get("correlation")]), quality)
        if key not in self._compensations:
            self._compensations[key] = compensate_model(op["a"], op["b"], op.get("correlation"), quality)
        return self._compensations[key]

    def degrade_pair(self, lr: torch.Tensor, params: dict[str, Any] | None) -> torch.Tensor:
        """The pair's recorded noise ops (self-contained but for the patch files they name), then its JPEG."""
        if params is None:
            return lr
        out = lr
        if params.get("ops"):
            from realsr_cli.degradations.pipeline import replay

            out = (self.noise.apply(lr, params) if self.noise is not None else replay(lr, params)).clamp(0, 1)
        return out if params.get("jpeg") is None else jpeg_compress(out, int(params["jpeg"]["quality"]))


class PresetMode(RecipeMode):
    """A degradation recipe from ``presets/degradation/`` or a YAML file, run by the degradation engine."""

    name = "preset"

    def __init__(
        self,
        scale: int,
        preset: str,
        kernels: Path | None = None,
        noise_patches: Path | None = None,
        device: str = "cpu",
        noise_model: Path | None = None,
    ) -> None:
        super().__init__(scale, device)
        from realsr_cli.degradations.pipeline import Degradation, check_sources_used
        from realsr_cli.degradations.recipe_schema import KERNELS, NOISE_MODEL, NOISE_PATCHES

        self.kernels_dir = _folder("--kernels", kernels)
        self.noise_dir = _folder("--noise-patches", noise_patches)
        is_file = Path(preset).suffix.lower() in (".yaml", ".yml")
        self.preset = str(Path(preset).resolve()) if is_file else str(preset)
        self.degradation = Degradation.from_preset(
            self.preset,
            kernels_dir=self.kernels_dir,
            noise_patches_dir=self.noise_dir,
            noise_model=_file("--noise-model", noise_model),
        )
        given = {KERNELS: kernels, NOISE_PATCHES: noise_patches, NOISE_MODEL: noise_model}
        check_sources_used(self.degradation, given)

    def options(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "kernels": str(self.kernels_dir) if self.kernels_dir else None,
            "noise_patches": str(self.noise_dir) if self.noise_dir else None,
            "noise_model": _model_used(self.degradation),
        }


class LearnedMode(RecipeMode):
    """A DSGAN/CycleGAN degradation model applied to the MATLAB-bicubic-downscaled HR image."""

    name = "learned"

    def __init__(self, scale: int, model_file: Path, device: str = "cpu") -> None:
        super().__init__(scale, device)
        from realsr_cli.degradations.learned_model import load_degradation_model
        from realsr_cli.degradations.pipeline import learned_degradation

        model_file = Path(model_file)
        if not model_file.is_file():
            raise InputError(f"--degradation-model {model_file}: no such file")
        self.model_file = model_file.resolve()
        model = load_degradation_model(self.model_file, "cpu")  # checks the file before any work starts
        if int(model.scale) != self.scale:
            raise InputError(f"--degradation-model {model_file}: trained for x{model.scale}, but -s {self.scale}")
        self.method = model.method
        self.degradation = learned_degradation(self.model_file)

    def options(self) -> dict[str, Any]:
        return {"degradation_model": str(self.model_file), "method": self.method}

    def sample(self, rng: np.random.Generator, hr: torch.Tensor) -> dict[str, Any]:
        from realsr_cli.degradations.pipeline import sample_with_model

        return sample_with_model(self.degradation, rng, tuple(int(v) for v in hr.shape[-2:]), self.scale)


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
        if self.downscale_lr and str(hr_upscaler) not in ("bicubic", "none"):
            raise InputError("--hr-upscaler enlarges the HR side and --downscale-lr shrinks the LR side: choose one")
        self.hr_upscaler = "none" if self.downscale_lr else str(hr_upscaler)
        self.model = None
        if self.hr_upscaler not in ("bicubic", "none"):
            self.model, self.hr_upscaler = _hr_upscaler(self.hr_upscaler, self.scale, self.device)

    def options(self) -> dict[str, Any]:
        return {"aligned_lr": str(self.aligned_dir), "hr_upscaler": self.hr_upscaler, "downscale_lr": self.downscale_lr}

    def lr_file(self, source: Source) -> Path:
        path = self.lr_files.get(source.path.stem)
        if path is None:
            raise InputError(f"{source.path}: no aligned LR image named {source.path.stem}.* in {self.aligned_dir}")
        return path

    def load(self, source: Source) -> LoadedHR:
        image = read_image(source.path)
        hr, dtype = to_tensor(image.pixels, device=self.device), image.pixels.dtype
        lr_path = self.lr_file(source)
        lr = read_image(lr_path)
        if (lr.height, lr.width) != tuple(hr.shape[-2:]):
            raise InputError(
                f"{source.path}: aligned LR image {lr_path} is {lr.width}x{lr.height}, "
                f"expected the same size as the HR image ({hr.shape[-1]}x{hr.shape[-2]})"
            )
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
        from realsr_cli.upscale.tiling import tiled_forward

        with torch.inference_mode():
            out = tiled_forward(self.model, x, self.scale, tile=UPSCALER_TILE, pad=UPSCALER_PAD, device=self.device)
        return out.to(self.device).clamp(0, 1)

    def degrade(self, hr: torch.Tensor, params: dict[str, Any], source: Source) -> torch.Tensor:
        lr = read_tensor(self.lr_file(source), device=self.device)
        if not self.downscale_lr:
            return lr
        lr = lr[..., : int(hr.shape[-2]), : int(hr.shape[-1])]  # the HR side's multiple-of-s crop
        return imresize(lr, scale=1.0 / self.scale).clamp(0, 1)


def _hr_upscaler(spec: str, scale: int, device: torch.device) -> tuple[torch.nn.Module, str]:
    """(network, what to record) for ``--hr-upscaler``: any model ``upscale --model`` takes, through the one loader;
    a file is recorded by its absolute path, ``default`` and interpolations by the file or name they resolve to."""
    from realsr_cli.models.loading import load_sr_model

    model = load_sr_model(spec, device, scale)
    if int(model.scale) != scale:
        raise InputError(f"--hr-upscaler {spec}: a x{model.scale} model, but -s {scale}")
    recorded = model.name if model.arch == "interpolation" else str(Path(model.source).resolve())
    return model.module, recorded


def build_mode(
    scale: int,
    *,
    kernels: Path | None = None,
    noise_patches: Path | None = None,
    noise_model: Path | None = None,
    preset: str | None = None,
    degradation_model: Path | None = None,
    aligned_lr: Path | None = None,
    hr_upscaler: str = "bicubic",
    downscale_lr: bool = False,
    self_pairs: bool = False,
    device: str = "cpu",
    per_photo_kernels: bool = False,
    jpeg: str | int | None = None,
    kernel_floor: str | None = None,
    floor_band: tuple[float, float] | None = None,
    sharpen: str | None = None,
    sharpen_amount: float | None = None,
) -> Mode:
    """Pick the mode from the options; exactly one of the five must be chosen. In the kernel + noise mode ``jpeg``
    None is ``auto``, ``kernel_floor`` None ``match`` and ``sharpen`` None ``auto`` (``range`` and ``off`` without
    a camera spectrum); ``--jpeg``, ``--kernel-floor``, ``--sharpen`` and ``--per-photo-kernels`` are that mode's
    only (an error elsewhere)."""
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
    if noise_model is not None and kernels is None and preset is None:
        raise InputError("--noise-model needs --kernels DIR (or a --preset with a noise_patch or noise_model step)")
    if not chosen:
        raise InputError(
            "choose a mode: --kernels DIR [--noise-patches DIR], --preset NAME, --degradation-model FILE, "
            "--aligned-lr DIR or --self"
        )
    if len(chosen) > 1:
        raise InputError(f"choose one mode, not {' and '.join(chosen)}")
    _check_kernel_only(chosen[0], per_photo_kernels, jpeg, kernel_floor, sharpen)
    if preset is not None:
        return PresetMode(scale, preset, kernels, noise_patches, device, noise_model)
    if noise_patches is not None and kernels is None:
        raise InputError("--noise-patches needs --kernels DIR (or a --preset that injects noise patches)")
    if kernels is not None:
        jpeg = "auto" if jpeg is None else jpeg
        return KernelNoiseMode(
            scale,
            kernels,
            noise_patches,
            device,
            noise_model,
            per_photo_kernels,
            jpeg,
            kernel_floor,
            floor_band,
            sharpen,
            sharpen_amount,
        )
    if degradation_model is not None:
        return LearnedMode(scale, degradation_model, device)
    if aligned_lr is not None:
        return AlignedMode(scale, aligned_lr, hr_upscaler, downscale_lr, device)
    return SelfMode(scale, device)


class ReplayMode(RecipeMode):
    """A recipe line replayed from its recorded ops alone (and the kernel and patch files they name): for a line
    whose noise model has moved since, as every ``noise_model`` op carries the model's parameters inline."""

    name = "preset"

    def __init__(self, scale: int, preset: str, device: str = "cpu") -> None:
        super().__init__(scale, device)
        from realsr_cli.degradations.pipeline import Degradation

        self.preset = preset
        self.degradation = Degradation({"name": Path(preset).stem, "steps": []})

    def options(self) -> dict[str, Any]:
        return {"preset": self.preset}


def _moved(path: Path | None) -> bool:
    """A file a manifest line names that is no longer there."""
    return path is not None and not path.is_file()


def _replay_jpeg(spec: str) -> str:
    """A recorded ``--jpeg``; "off" for a jpeg.json that has moved (each pair records its own quality)."""
    text = str(spec)
    return "off" if text.lower() not in ("auto", "off") and not text.isdigit() and _moved(Path(text)) else text


def _kernel_noise_from_record(opts: dict[str, Any], scale: int, device: str) -> KernelNoiseMode:
    """The kernel + noise mode of a line; a moved noise model (its ops carry it: the noise folder is not needed
    either) or jpeg.json (``pair_degradation.jpeg`` holds the quality) is left out."""
    path = lambda key: Path(opts[key]) if opts.get(key) else None  # noqa: E731
    model, noise = path("noise_model"), path("noise_patches")
    if _moved(model):
        model = noise = None
    jpeg = _replay_jpeg(opts.get("jpeg", "off"))
    per_photo = bool(opts.get("per_photo_kernels"))
    floor = str(opts.get("kernel_floor", "off"))  # lines written before --kernel-floor used the estimate as is
    band = opts.get("floor_band")
    if floor == "match" and band is None:  # no kernel was at the floor: nothing was matched, nothing drawn
        floor = "range"
    sharpen, amount = str(opts.get("sharpen", "off")), opts.get("sharpen_amount")
    if sharpen == "auto":  # the matched amount (each line's ops hold its sharpen op too)
        sharpen = str(amount or 0.0)
    return KernelNoiseMode(
        scale,
        path("kernels"),
        noise,
        device,
        model,
        per_photo_kernels=per_photo,
        jpeg=jpeg,
        kernel_floor=floor,
        floor_band=None if band is None else (float(band[0]), float(band[1])),
        sharpen=sharpen,
    )


def _check_kernel_only(
    mode: str,
    per_photo_kernels: bool,
    jpeg: str | int | None,
    kernel_floor: str | None = None,
    sharpen: str | None = None,
) -> None:
    """``--per-photo-kernels``, ``--jpeg``, ``--kernel-floor`` and ``--sharpen`` belong to the kernel + noise mode:
    elsewhere they would do nothing."""
    given = [("--per-photo-kernels", per_photo_kernels), ("--jpeg", jpeg is not None)]
    given += [("--kernel-floor", kernel_floor is not None), ("--sharpen", sharpen is not None)]
    flags = [flag for flag, on in given if on]
    if flags and mode != "--kernels":
        raise InputError(f"{' and '.join(flags)}: only for the kernel + noise mode (--kernels DIR), not {mode}")


def _sharpen_mode(value: str | None, amount: float | None, kernels_dir: Path) -> tuple[str, float | None]:
    """(``--sharpen`` mode, amount): auto (None: when the kernel folder holds the camera spectrum) | off | an
    unsharp-mask amount >= 0; ``amount`` is auto's matched amount (given to workers), None until matched."""
    from realsr_cli.degradations.spectrum import SPECTRUM_FILE

    has_spectrum = (kernels_dir / SPECTRUM_FILE).is_file()
    text = ("auto" if has_spectrum else "off") if value is None else str(value).strip().lower()
    if text == "off":
        return "off", None
    if text == "auto":
        if not has_spectrum and amount is None:
            raise InputError(
                f"--sharpen auto: {kernels_dir / SPECTRUM_FILE} not found (learn-degradation writes it); "
                "use --sharpen off or an amount"
            )
        return "auto", None if amount is None else float(amount)
    try:
        fixed = float(text)
    except ValueError:
        raise InputError(f"--sharpen {value!r}: choose auto, off or an unsharp-mask amount (e.g. 0.8)") from None
    if not math.isfinite(fixed) or fixed < 0:
        raise InputError(f"--sharpen {value!r}: the amount must be a number >= 0")
    return "off" if fixed == 0 else str(fixed), fixed or None


def _kernel_floor_mode(value: str | None, kernels_dir: Path, matched: bool = False) -> str:
    """``--kernel-floor``: match | range | off (:mod:`realsr_cli.degradations.kernel_floor`); None: match when the
    kernel folder holds the camera spectrum (``spectrum.json``, from learn-degradation), else range; ``matched``:
    the band is given (a worker, or a manifest line), so the spectrum is not needed."""
    from realsr_cli.degradations.kernel_floor import KERNEL_FLOOR_MODES
    from realsr_cli.degradations.spectrum import SPECTRUM_FILE

    has_spectrum = (kernels_dir / SPECTRUM_FILE).is_file()
    if value is None:
        return "match" if has_spectrum else "range"
    if value not in KERNEL_FLOOR_MODES:
        raise InputError(f"--kernel-floor {value!r}: choose {', '.join(KERNEL_FLOOR_MODES)}")
    if value == "match" and not has_spectrum and not matched:
        raise InputError(
            f"--kernel-floor match: {kernels_dir / SPECTRUM_FILE} not found (learn-degradation writes it); "
            "use --kernel-floor range"
        )
    return value


def mode_from_record(record: dict[str, Any], device: str = "cpu") -> Mode:
    """Rebuild the mode that wrote a manifest line (for regenerating or checking its pair); the noise model and
    jpeg.json files it was drawn from are not needed (the recorded ops carry them)."""
    opts = {k: v for k, v in record.get("mode_options", {}).items()}
    mode, scale = record["mode"], int(record["scale"])
    path = lambda key: Path(opts[key]) if opts.get(key) else None  # noqa: E731
    if mode == "self":
        return SelfMode(scale, device)
    if mode == "kernel-noise":
        return _kernel_noise_from_record(opts, scale, device)
    if mode == "preset" and _moved(path("noise_model")):
        return ReplayMode(scale, opts["preset"], device)
    if mode == "preset":
        return PresetMode(scale, opts["preset"], path("kernels"), path("noise_patches"), device, path("noise_model"))
    if mode == "learned":
        return LearnedMode(scale, Path(opts["degradation_model"]), device)
    if mode == "aligned":
        aligned = Path(opts["aligned_lr"])
        return AlignedMode(scale, aligned, opts.get("hr_upscaler", "bicubic"), opts["downscale_lr"], device)
    raise InputError(f"unknown pair mode {mode!r} in manifest (known: {', '.join(MODES)})")
