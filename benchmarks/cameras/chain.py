"""The ways of one camera, each a cached chain of ``realsr`` subcommands ending in a ``realsr score --json`` file.

(a) MATLAB bicubic (``benchmarks/demo/bicubic.py``); (b) the network trained on ``bicubic`` pairs and (c) on
``generic`` (Samsung-SLSI-MSL, NTIRE 2020) and ``realesrgan`` (Wang et al., ICCVW 2021) pairs — made from the clean
HR once and shared by every camera; (d) the learned chain of the README (Ji et al., CVPRW 2020: learn-degradation
with its defaults on the camera's source photos, then ``make-pairs --kernels learned/kernels --noise-patches
learned/noise``: the camera kernel, the noise patches or the camera noise model when patches are few, and JPEG at
the measured quality last, the noise scaled to survive it); (e) pairs made with the true camera preset (the upper bound, which a user never has).
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.demo import bicubic
from realsr_cli.models.loading import default_model_path

from .data import Sets
from .plan import INIT, LPIPS_WEIGHTS, RECIPES, SCALE, Plan
from .steps import Steps, code_hash, file_hash, realsr

TRAIN_PRESET = Path(__file__).resolve().parents[2] / "presets" / "train" / "default-x4.yaml"


def _marker(folder: Path) -> Path:
    return folder / ".step.json"


def score_args() -> list[str]:
    """``realsr score`` metrics: LPIPS-alex when its weights are at hand (../shared or $REALSR_LPIPS_BACKBONE)."""
    if LPIPS_WEIGHTS.is_file():
        return ["--metrics", "psnr,ssim,lpips", "--lpips-weights", str(LPIPS_WEIGHTS)]
    if os.environ.get("REALSR_LPIPS_BACKBONE"):
        return ["--metrics", "psnr,ssim,lpips"]
    return ["--metrics", "psnr,ssim"]


class Chains:
    """Builds every way's pairs, model, upscaled test set and scores under ``root`` (``shared/`` + one folder per
    camera)."""

    def __init__(self, root: Path, plan: Plan, steps: Steps, sets: Sets) -> None:
        self.root, self.plan, self.steps, self.sets = root, plan, steps, sets
        self.code = code_hash()

    def pairs(self, name: str, out: Path, mode: list[str | Path], deps: list[Path], **extra: str) -> Path:
        """``make-pairs`` from the clean training HR with one mode's options (same patches and seed for all)."""
        p = str(self.plan.patch)
        args = ["make-pairs", self.sets.train, "-o", out, "-s", str(SCALE), *mode, "--patch-size", p, "--stride", p]
        args += ["--seed", "0", "-q"]
        return self.steps.realsr(name, out, args, deps=[*deps, _marker(self.sets.train)], **extra)

    def train(self, name: str, pairs: Path, out: Path, **extra: str) -> Path:
        """``train-sr`` with the settings every way shares; returns the model file."""
        args = ["train-sr", pairs, "-o", out, "-s", str(SCALE), *self.plan.train_args(), "-q"]
        init = [default_model_path(SCALE)] if self.plan.init == INIT else []
        self.steps.realsr(name, out, args, deps=[_marker(pairs), TRAIN_PRESET, *init], **extra)
        return out / "model.pt"

    def recipe_model(self, recipe: str) -> Path:
        """The camera-independent model trained on pairs of the ``recipe`` preset (made once, reused)."""
        shared = self.root / "shared"
        pairs = self.pairs(f"pairs {recipe}", shared / f"pairs-{recipe}", ["--preset", recipe], [])
        return self.train(f"train {recipe}", pairs, shared / f"run-{recipe}")

    def score(self, name: str, sr: Path, out: Path, **extra: str) -> Path:
        """``realsr score`` of an upscaled test set against the test GT; returns the JSON file."""
        args = ["score", sr, "--gt", self.sets.test, *score_args(), "--crop-to-gt", "--crop-border", str(SCALE)]
        args += ["--json", out / "score.json", "-q"]
        key = {"args": [str(a) for a in args], "deps": file_hash([_marker(sr)]), **extra}

        def run() -> None:
            out.mkdir(parents=True)
            realsr(*args)

        self.steps.run(name, out, key, run)
        return out / "score.json"

    def upscale_and_score(self, cam: str, way: str, model: Path, test_lr: Path, **extra: str) -> Path:
        """Upscale the camera's test LR with ``model``; score it."""
        base = self.root / cam
        sr = base / f"sr-{way}"
        args = ["upscale", test_lr, sr, "-s", str(SCALE), "--model", model, "-q"]
        self.steps.realsr(f"{cam}: upscale {way}", sr, args, deps=[_marker(test_lr), model], **extra)
        return self.score(f"{cam}: score {way}", sr, base / f"score-{way}", **extra)

    def bicubic(self, cam: str, test_lr: Path) -> Path:
        """Way (a): MATLAB-bicubic upscaling of the test LR; scored."""
        sr = self.root / cam / "sr-bicubic"
        key = {"bicubic": str(test_lr), "deps": file_hash([_marker(test_lr)])}
        self.steps.run(f"{cam}: upscale bicubic", sr, key, lambda: bicubic.main(str(test_lr), str(sr), str(SCALE)))
        return self.score(f"{cam}: score bicubic", sr, self.root / cam / "score-bicubic")

    def photos(self, cam: str, camera: Path, src: Path, out: Path, seed: int) -> Path:
        """Photos of ``src`` taken by the camera preset (``realsr degrade``)."""
        args = ["degrade", src, out, "--preset", camera, "-s", str(SCALE), "--seed", str(seed), "-q"]
        return self.steps.realsr(f"{cam}: degrade {out.name}", out, args, deps=[camera, _marker(src)])

    def learned_model(self, cam: str, source: Path) -> Path:
        """Way (d): learn-degradation with defaults on the source photos, the README's make-pairs, train-sr.

        Keyed on the tool's source code too: after a change to ``realsr_cli`` this chain is redone."""
        base = self.root / cam
        learned = base / "learned"
        args = ["learn-degradation", source, "-o", learned, *self.plan.learn_args(), "-q"]
        self.steps.realsr(f"{cam}: learn-degradation", learned, args, deps=[_marker(source)], code=self.code)
        mode = ["--kernels", learned / "kernels", "--noise-patches", learned / "noise"]
        pairs = self.pairs(f"{cam}: pairs learned", base / "pairs-learned", mode, [_marker(learned)], code=self.code)
        return self.train(f"{cam}: train learned", pairs, base / "run-learned", code=self.code)

    def camera_model(self, cam: str, camera: Path) -> Path:
        """Way (e): pairs made with the true camera preset; train-sr."""
        base = self.root / cam
        pairs = self.pairs(f"{cam}: pairs camera", base / "pairs-camera", ["--preset", camera], [camera])
        return self.train(f"{cam}: train camera", pairs, base / "run-camera")


def recipe_ways() -> dict[str, str]:
    """Way name -> recipe preset of the camera-independent trained ways (b, c)."""
    return {f"{r}-trained": r for r in RECIPES}
