"""The upscale engine with ``--denoise auto``: each photo's restoration strength from the strength estimator.

:class:`AutoDenoiseUpscaler` is an :class:`~realsr_cli.upscale.pipeline.Upscaler` of a built-in model's mild end
whose ``upscale_pixels`` first asks :class:`~realsr_cli.upscale.strength.StrengthEstimator` for the photo's strength
``s`` (0.05 steps), then runs the network interpolation of the two ends at ``s`` (one engine per strength, built on
first use with the same options). ``stats["denoise"]`` records ``s``. A video takes its first frame's strength
for every frame (:meth:`AutoDenoiseUpscaler.fixed_for`), so the strength cannot flicker.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from realsr_cli.errors import InputError
from realsr_cli.models.interpolation import interpolate_models
from realsr_cli.models.loading import SRModel
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler
from realsr_cli.upscale.strength import StrengthEstimator


class AutoDenoiseUpscaler(Upscaler):
    """A built-in model whose two ends are mixed per photo at the estimator's strength."""

    def __init__(
        self,
        mild: SRModel,
        strong: SRModel,
        device: torch.device,
        options: UpscaleOptions,
        estimator: StrengthEstimator,
        calibration: str,
    ) -> None:
        super().__init__([mild], device, options)
        self.mild, self.strong = mild, strong
        self.estimator = estimator
        self.calibration = calibration  # "psnr" or "gan": which ramp of the estimator
        self.estimator.ramp(self.scale, calibration)  # a missing calibration fails before any photo is read
        self._engines: dict[float, Upscaler] = {0.0: self}

    def strength_for(self, pixels: np.ndarray) -> float:
        return self.estimator.strength(pixels, self.scale, self.calibration)

    def fixed_for(self, pixels: np.ndarray) -> Upscaler:
        """A plain engine at ``pixels``' strength (a video's: its first frame's, so it cannot flicker)."""
        strength = self.strength_for(pixels)
        if strength == 0.0:
            return Upscaler([self.mild], self.device, self.options)
        return self.engine_at(strength)

    def engine_at(self, strength: float) -> Upscaler:
        if strength not in self._engines:
            model = interpolate_models(self.mild, self.strong, strength)
            self._engines[strength] = Upscaler([model], self.device, self.options)
        return self._engines[strength]

    def upscale_pixels(self, pixels: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        strength = self.strength_for(pixels)
        if strength == 0.0:
            out, stats = super().upscale_pixels(pixels)
        else:
            engine = self.engine_at(strength)
            engine.on_tile = self.on_tile
            out, stats = engine.upscale_pixels(pixels)
        stats["denoise"] = strength
        return out, stats


AUTO = "auto"


def parse_denoise(text: str | float | None) -> float | str | None:
    """``--denoise``: None (the default), ``auto`` or a strength 0..1."""
    if text is None or isinstance(text, float | int):
        value = text
    elif str(text).strip().lower() == AUTO:
        return AUTO
    else:
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"--denoise {text}: expected auto or a number from 0 to 1") from None
    if value is not None and not 0.0 <= float(value) <= 1.0:
        raise InputError(f"--denoise {text}: must be auto or between 0 (keep detail) and 1 (strongest restoration)")
    return None if value is None else float(value)


def auto_calibration(spec: str, scale: int, explicit: bool) -> tuple[StrengthEstimator, str] | None:
    """The estimator and ramp name for ``--denoise auto`` with built-in ``spec`` at x``scale``, or None where it does
    not apply (a file given as the default model, no estimator or ramp shipped); ``explicit``: raise instead."""
    from realsr_cli.models.loading import DEFAULT_ENV, builtin_variant, is_builtin
    from realsr_cli.upscale.strength import default_estimator_path

    problem = None
    if not is_builtin(spec):
        problem = f"--denoise auto is for the built-in models (default, default-psnr, default-gan), not {spec}"
    elif os.environ.get(DEFAULT_ENV):
        problem = f"--denoise auto is calibrated for the shipped models, not ${DEFAULT_ENV}'s; give --denoise 0..1"
    elif not default_estimator_path().is_file():
        problem = f"{default_estimator_path()}: the --denoise auto estimator is not installed; give --denoise 0..1"
    if problem is None:
        estimator = StrengthEstimator.load()
        calibration = "gan" if builtin_variant(spec, scale) == "gan" else "psnr"
        if f"x{scale}/{calibration}" in estimator.ramps:
            return estimator, calibration
        problem = f"--denoise auto has no calibration for x{scale} {spec}; give --denoise 0..1"
    if explicit:
        raise InputError(problem)
    return None


def main_model(
    spec: str, dev: torch.device, scale: int | None, denoise: float | None, interpolate: str | None
) -> SRModel:
    """``--model``, or its network interpolation with ``--interpolate`` / the default's ends at ``--denoise``."""
    from realsr_cli.models.classical import is_interpolator
    from realsr_cli.models.interpolation import default_denoise_model
    from realsr_cli.models.loading import is_builtin, load_sr_model

    if is_interpolator(spec) and (denoise is not None or interpolate is not None):
        raise InputError(
            f"--model {spec} is a fixed interpolation with no restoration strength: "
            "--denoise and --interpolate are for SR networks (e.g. --model default)"
        )
    if interpolate is not None:
        if denoise is None:
            raise InputError("--interpolate B needs --denoise S: the weight of B (0 = --model only, 1 = B only)")
        return interpolate_models(load_sr_model(spec, dev, scale), load_sr_model(interpolate, dev, scale), denoise)
    if denoise is None:
        return load_sr_model(spec, dev, scale)
    if not is_builtin(spec):
        raise InputError(
            "--denoise with a model file needs --interpolate B (the other end); alone it is for the built-in models"
            " (default, default-psnr, default-gan)"
        )
    return default_denoise_model(denoise, dev, scale or 4, spec)


def build_upscaler(
    spec: str,
    dev: torch.device,
    options: UpscaleOptions,
    denoise: float | str | None = None,
    interpolate: str | None = None,
    ensemble: tuple[str, ...] = (),
) -> Upscaler:
    """The engine behind ``upscale`` and :class:`realsr_cli.api.Upscaler`: ``--model`` (+ ``--interpolate`` /
    ``--denoise``, + ``--ensemble`` models). ``denoise`` None means ``auto`` where it applies (a built-in model alone
    whose ramp the shipped estimator holds: ``default-psnr``), else the model as it is."""
    from realsr_cli.models.interpolation import STRONG_END
    from realsr_cli.models.loading import builtin_variant, default_model_path, load_sr_model

    denoise = parse_denoise(denoise)
    scale = options.scale
    alone = interpolate is None and not ensemble and options.fusion != "luminance"
    if denoise == AUTO and not alone:
        raise InputError("--denoise auto is for one built-in model (not with --interpolate, --ensemble or --fusion)")
    if denoise in (None, AUTO) and alone:
        found = auto_calibration(spec, scale or 4, explicit=denoise == AUTO)
        if found is not None:
            estimator, calibration = found
            mild = load_sr_model(default_model_path(scale or 4, builtin_variant(spec, scale or 4)), dev, scale or 4)
            mild.name = f"{spec} (denoise auto)"
            strong = load_sr_model(default_model_path(scale or 4, STRONG_END), dev, scale or 4)
            return AutoDenoiseUpscaler(mild, strong, dev, options, estimator, calibration)
    assert not isinstance(denoise, str), "an explicit auto either built its engine or raised"
    models = [main_model(spec, dev, scale, denoise, interpolate)]
    models += [load_sr_model(p, dev, scale) for p in ensemble]
    engine = Upscaler(models, dev, options)
    if denoise is None and interpolate is None and not ensemble:
        from realsr_cli.upscale.lean import remember_for_lean

        remember_for_lean(spec, scale, engine)
    return engine
