"""What ``realsr upscale`` can be told (:class:`UpscaleOptions`), shared by its two engines: the PyTorch one
(:mod:`realsr_cli.upscale.pipeline`) and the lean one (:mod:`realsr_cli.upscale.lean`). No torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LuminanceFusion:
    """Samsung-SLSI-MSL's luminance fusion parameters (:mod:`realsr_cli.upscale.ensemble`)."""

    alpha: float = 0.6
    beta: float = 0.4
    gamma: float = 64.0


@dataclass
class UpscaleOptions:
    """Everything ``realsr upscale`` can be told, with its defaults."""

    scale: int | None = None  # must equal the model's scale when given
    outscale: float | None = None  # final MATLAB-bicubic resize to outscale x input
    tile: int | None = None  # None: chosen from free memory; 0: whole image
    tile_pad: int = 10
    batch: int = 1  # tiles per forward pass
    tta: bool = False
    fusion: str = "mean"  # mean | luminance (model ensembles)
    luminance: LuminanceFusion = field(default_factory=LuminanceFusion)
    alpha: str = "model"  # model | bicubic
    precision: str = "auto"  # auto | fp32 | fp16 | bf16
    color_fix: bool = False
    channels_last: bool | None = None  # None: where it helps (backends.channels_last_helps)
    compile: bool = False
    backend: str = "torch"  # torch | openvino | onnxruntime | auto (the CLI's default; see upscale/backends.py)
    threads: int | None = None  # the runtimes' CPU threads (None: torch.get_num_threads())
    ext: str | None = None
    suffix: str = ""
    quality: int = 95
    overwrite: bool = False
    max_pixels: int | None = None  # pixel budget of the inputs (None: $REALSR_MAX_PIXELS or the default; 0: none)
