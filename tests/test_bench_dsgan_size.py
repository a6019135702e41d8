"""The DSGAN crop-size benchmark's measure (benchmarks/dsgan_size.py): noise and spectrum against a camera."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_noise_model import fit_photos
from benchmarks.dsgan_size import measure
from realsr_cli.degradations import spectrum
from realsr_cli.learn import noise_model


def _photos(sigma: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 210, 192)[None, :, None] * np.ones((192, 1, 3))
    return [np.clip(np.rint(ramp + rng.normal(0, sigma, ramp.shape)), 0, 255).astype(np.uint8) for _ in range(2)]


def test_measure_reads_the_generators_noise_against_the_cameras():
    camera = _photos(6.0, 0)
    truth = fit_photos(camera)
    signature = spectrum.signature([noise_model.gray_255(p) for p in camera])
    same, faint = measure(_photos(6.0, 1), truth, signature), measure(_photos(1.0, 1), truth, signature)
    assert same["noise_error"] < 0.1 < 0.7 < faint["noise_error"]
    assert same["sigma"][1] > 3 * faint["sigma"][1]
    assert same["spectrum_distance"] < faint["spectrum_distance"]
    assert measure(camera, truth, signature)["spectrum_distance"] == 0.0
