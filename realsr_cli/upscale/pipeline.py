"""The ``upscale`` engine on PyTorch: model(s) -> TTA / ensembles -> tiles -> precision fallback, under the pixel
handling of :class:`realsr_cli.upscale.engine.PixelEngine` and the batch driver of :mod:`realsr_cli.upscale.files`.

Inference follows Real-ESRGAN's ``inference_realesrgan.py`` / ``RealESRGANer.enhance`` (Wang et al., ICCVW 2021);
an arbitrary ``--outscale`` is a final resize (here MATLAB bicubic, as in the NTIRE/AIM protocols). Additions:
colour fix, fp16 with NaN/black fallback, model ensembles (mean or luminance fusion), x8 self-ensemble, and the
CPU runtimes of :mod:`realsr_cli.upscale.backends` in place of the PyTorch module.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from realsr_cli.console import warn_line
from realsr_cli.errors import InputError
from realsr_cli.models.loading import SRModel
from realsr_cli.upscale.backends import channels_last_helps, select_backend
from realsr_cli.upscale.color_fix import color_fix
from realsr_cli.upscale.engine import PixelEngine
from realsr_cli.upscale.ensemble import fused_model, luminance_ensemble
from realsr_cli.upscale.files import (  # noqa: F401 - the batch driver's names, importable from here as before
    ImageResult,
    UpscaleReport,
    output_meta,
    plan,
    sidecar_path,
    upscale_files,
)
from realsr_cli.upscale.options import LuminanceFusion, UpscaleOptions  # noqa: F401 - re-exported
from realsr_cli.upscale.precision import choose_dtype, fallback_chain, run_with_fallback
from realsr_cli.upscale.tiling import (
    activation_bytes_per_pixel,
    auto_tile,
    available_memory,
    cuda_bytes_per_pixel,
    run_tiled,
    tile_count,
)
from realsr_cli.upscale.tta import self_ensemble
from realsr_cli.upscale.windows import CPU_MEMORY_FRACTION, tile_for_image


def _clamp_unit(out: torch.Tensor) -> torch.Tensor:
    """``out`` clamped to [0, 1] in place: the engine's output is its own (a new copy of a 16 MP output costs
    0.3-0.5 s); inference mode, as eager outputs are inference tensors."""
    with torch.inference_mode():
        return out.clamp_(0.0, 1.0)


class Upscaler(PixelEngine):
    """One or more SR models (ensemble) applied to images with TTA, tiling and precision fallback (PyTorch, or a
    runtime's function in its place); the pixel handling is :class:`~realsr_cli.upscale.engine.PixelEngine`'s."""

    models: list[SRModel]

    def __init__(self, models: Sequence[SRModel], device: torch.device, options: UpscaleOptions) -> None:
        if not models:
            raise InputError("no model given")
        scales = {m.scale for m in models}
        if len(scales) != 1:
            raise InputError(f"ensemble models have different scales ({', '.join(f'x{s}' for s in sorted(scales))})")
        self.models = list(models)
        self.scale = models[0].scale
        if options.scale is not None and options.scale != self.scale:
            hint = f"use -s {self.scale}" + (
                ", or --outscale for other output sizes" if options.outscale is None else ""
            )
            raise InputError(f"model {models[0].name} is x{self.scale}, not x{options.scale} ({hint})")
        if options.fusion == "luminance" and len(models) != 2:
            raise InputError(
                f"--fusion luminance combines exactly 2 models (relativistic, standard), got {len(models)}"
            )
        if options.alpha not in ("model", "bicubic"):
            raise InputError(f"--alpha {options.alpha}: expected model or bicubic")
        for m in models:
            if m.in_channels not in (1, 3) or m.out_channels != m.in_channels:
                raise InputError(
                    f"{m.name}: a {m.in_channels}->{m.out_channels} channel model is not an RGB/gray SR model"
                )
        self.device = device
        self.options = options
        self.tile_pad = max([options.tile_pad, *(m.context for m in models)])  # enough context for exact tiles
        half_ok = all(m.half_ok for m in models)
        try:
            self.dtype = choose_dtype(device, options.precision, half_ok)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if options.precision in ("fp16", "bf16") and device.type != "cuda":
            warn_line(f"{options.precision} is for CUDA; running fp32 on {device.type}")
        self.chain = fallback_chain(self.dtype, device)
        threads = options.threads or torch.get_num_threads()
        self.backends = [
            select_backend(m, options.backend, device, threads, options.compile, warn_line) for m in models
        ]
        wanted = options.channels_last
        self.channels_last = [  # torch modules only; None: where it helps
            b.fn is None and (channels_last_helps(m, device) if wanted is None else wanted)
            for m, b in zip(models, self.backends, strict=True)
        ]
        names = "+".join(dict.fromkeys(b.name for b in self.backends))
        self.backend = names if device.type != "cpu" else f"{names}, {threads} thread{'s' if threads > 1 else ''}"
        self._modules: dict[torch.dtype, list[Callable[[torch.Tensor], torch.Tensor]]] = {}  # modules or runtimes
        self._tile: int | None = options.tile
        self.on_tile: Callable[[int], None] | None = None

    # ---- model functions -------------------------------------------------------------------------------------
    def _modules_at(self, dtype: torch.dtype) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        if dtype not in self._modules:
            mods: list[Callable[[torch.Tensor], torch.Tensor]] = []
            for m, backend, last in zip(self.models, self.backends, self.channels_last, strict=True):
                if backend.fn is not None and dtype == torch.float32:  # a runtime's function, not a module
                    mods.append(backend.fn)
                    continue
                module = m.module if dtype == torch.float32 else copy.deepcopy(m.module).to(dtype)
                module = module.to(self.device)
                if last:
                    module = module.to(memory_format=torch.channels_last)
                mods.append(torch.compile(module) if self.options.compile else module)
            self._modules[dtype] = mods
        return self._modules[dtype]

    def _single_fn(self, module: Callable, in_channels: int, dtype: torch.dtype, channels_last: bool) -> Callable:
        device = self.device

        def forward(x: torch.Tensor) -> torch.Tensor:
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                return module(x)

        # not recursive: a closure that holds itself is a reference cycle, and through ``self`` it kept a dropped
        # engine (and a runtime's compiled model and buffers) alive until the next cyclic GC
        def run(x: torch.Tensor) -> torch.Tensor:
            x = x.to(device, dtype)
            if in_channels == 1 and x.shape[1] != 1:
                b, c, h, w = x.shape
                y = forward(x.reshape(b * c, 1, h, w))
                return y.reshape(b, c, *y.shape[-2:])
            return forward(x)

        return run

    def model_fn(
        self, dtype: torch.dtype, which: Sequence[int] | None = None
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The models ``which`` (default all; several are mean-fused), optionally x8 self-ensembled, on ``dtype``."""
        mods = self._modules_at(dtype)
        picked = range(len(self.models)) if which is None else which
        fn = fused_model(
            [self._single_fn(mods[i], self.models[i].in_channels, dtype, self.channels_last[i]) for i in picked]
        )
        return self_ensemble(fn, 8) if self.options.tta else fn

    def release(self) -> None:
        for backend in self.backends:
            release = getattr(backend.fn, "release", None)
            if release is not None:
                release()

    # ---- tiling ----------------------------------------------------------------------------------------------
    def tile_for(self, height: int, width: int) -> int:
        """The tile size: ``--tile``, else the largest that fits the free memory (0 when the image fits whole)."""
        if self._tile is None:
            if self.device.type == "cuda":
                fn = self.model_fn(self.dtype)
                per_px = cuda_bytes_per_pixel(fn, self.device, self.dtype)
                self._tile = auto_tile(per_px, available_memory(self.device), self.options.batch, fraction=0.6)
            else:
                per_px = sum(activation_bytes_per_pixel(m.module, m.in_channels) for m in self.models)
                self._tile = auto_tile(
                    per_px, available_memory(self.device), self.options.batch, fraction=CPU_MEMORY_FRACTION
                )
        return tile_for_image(self._tile, height, width)

    def upscale_tensor(self, x: torch.Tensor, luma: float | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
        """(1, C, H, W) float [0, 1] on the host -> (1, C, sH, sW) float on the host, plus run statistics.

        Luminance fusion runs the relativistic model (the first) over the image, then the standard one only when
        the median luma of that output (or ``luma``, when given) is dark; ``stats["median_luma"]`` records it.
        """
        if self.options.fusion != "luminance":
            return self._forward(x)
        sr_rel, stats = self._forward(x, [0])
        out, stats["median_luma"] = luminance_ensemble(
            sr_rel, lambda: self._forward(x, [1])[0], self.options.luminance, luma
        )
        if stats["median_luma"] >= self.options.luminance.gamma and self.on_tile:
            self.on_tile(stats["tiles"])  # the standard model's pass, not needed, counts as done
        return _clamp_unit(out), stats

    def _forward(self, x: torch.Tensor, which: Sequence[int] | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
        """The models ``which`` (mean-fused) over ``x``, tiled, with precision fallback."""
        _, _, height, width = x.shape
        tile = self.tile_for(height, width)
        used = {"tile": tile}

        def retry_tile(new_tile: int) -> None:
            self._tile = new_tile
            warn_line(f"out of device memory: retrying with --tile {new_tile}")

        def run(dtype: torch.dtype) -> torch.Tensor:
            out, used["tile"] = run_tiled(
                self.model_fn(dtype, which),
                x,
                self.scale,
                tile=used["tile"],
                pad=self.tile_pad,
                batch=self.options.batch,
                device=self.device,
                on_tile=self.on_tile,
                on_retry=retry_tile,
            )
            return out

        def retry_precision(dtype: torch.dtype, problem: str) -> None:
            warn_line(
                f"{problem} output in {str(self.chain[0]).replace('torch.', '')}: retrying in {str(dtype).replace('torch.', '')}"
            )

        out, dtype = run_with_fallback(run, x, self.chain, retry_precision)
        stats: dict[str, Any] = {"tile": used["tile"], "tiles": tile_count(height, width, used["tile"], self.tile_pad)}
        stats["precision"] = str(dtype).replace("torch.", "")
        return _clamp_unit(out), stats

    # ---- the base engine's model pass and hooks (on host arrays) ------------------------------------------------
    def upscale_rgb(self, rgb: np.ndarray, luma: float | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        out, stats = self.upscale_tensor(torch.from_numpy(rgb), luma)
        return out.numpy(), stats

    def fix_colours(self, sr: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        if not self.options.color_fix:
            return sr
        return color_fix(torch.from_numpy(sr), torch.from_numpy(rgb), self.scale).numpy()

    def resize_output(self, out: np.ndarray, in_h: int, in_w: int) -> np.ndarray:
        """MATLAB-bicubic resize of (C, sH, sW) planes to ``--outscale`` x the input."""
        from realsr_cli.degradations.resize import imresize

        outscale = float(self.options.outscale or self.scale)
        size = (max(1, int(round(in_h * outscale))), max(1, int(round(in_w * outscale))))
        return imresize(torch.from_numpy(out)[None], size=size).clamp(0.0, 1.0)[0].numpy()

    def bicubic_alpha(self, alpha: np.ndarray) -> np.ndarray:
        from realsr_cli.degradations.resize import imresize

        return imresize(torch.from_numpy(alpha), scale=self.scale)[0].clamp(0, 1).numpy()
