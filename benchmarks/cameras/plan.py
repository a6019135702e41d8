"""What the camera zoo benchmark runs: the cameras, the image splits, and the full / quick settings.

Images come from ``../shared/data/hr-train`` in three disjoint index ranges: clean training HR (halved, as every
training set of this project), the cameras' source photos (the camera applied to the full-size photo, so its
photos are ~500 x 330 px and hold many of learn-degradation's adaptive 64-px noise windows) and the held-out test
photos (halved HR = ground truth; the camera applied to it = the LR input). Every way fine-tunes the same
built-in model (``train-sr --init default-psnr``, as a user adapting it to a camera would; the test photos are
outside its training set) with the same network, iterations, batch, crop and seed (``presets/train/default-x4.yaml``
with 96-px crops, batch 8, 300 iterations at lr 2e-4: its cosine period stretched to them; EMA off, as its 0.999
averages over ~1,000 steps, longer than the run). The full run's size was chosen to fit an hour on the 2-core CPU (see docs/cameras.md for the step timings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAMERA_DIR = Path(__file__).resolve().parent
SHARED = REPO.parent / "shared"
HR_SOURCE = SHARED / "data" / "hr-train"
LPIPS_WEIGHTS = SHARED / "weights" / "alexnet-features.pth"

# Cameras nobody may look at (photos, kernels, noise, scores) while tuning learn-degradation's defaults.
HELD_OUT = ("webcam", "action-cam", "dslr", "compact", "pocket")
RECIPES = ("bicubic", "generic", "realesrgan")
SCALE = 4
# The model every way fine-tunes: the built-in x4 PSNR default, as a user adapting it to a camera would
# (``train-sr --init default-psnr``). It was trained on hr-train 0001-0036, so the test photos are 0037-0040.
INIT = "default-psnr"


@dataclass(frozen=True)
class Plan:
    """One benchmark size. Index ranges are inclusive; crops (px, centred) are None for whole images."""

    name: str
    train: tuple[int, int]
    source: tuple[int, int]
    test: tuple[int, int]
    train_crop: int | None
    source_crop: int | None
    test_crop: int | None
    patch: int  # make-pairs HR patch (and stride)
    train_patch: int  # train-sr HR crop
    iters: int
    batch: int
    kernelgan_iters: int | None  # None: learn-degradation's own default (only --quick reduces it)
    meaningful: bool
    init: str | None = INIT  # every way fine-tunes this model (train-sr --init); None: from scratch
    lr: float = 2e-4  # train.lr of the fine-tune (annealed over one cosine period)

    def train_args(self) -> list[str]:
        """The train-sr options every way shares."""
        return [
            "--preset",
            "default-x4",
            "--iters",
            str(self.iters),
            "--batch-size",
            str(self.batch),
            "--patch-size",
            str(self.train_patch),
            "--set",
            "train.ema_decay=0",
            "--seed",
            "0",
            "--set",
            f"train.lr={self.lr:g}",
        ] + (["--init", self.init] if self.init else [])

    def learn_args(self) -> list[str]:
        """learn-degradation options: none but the scale, except a shorter KernelGAN in quick mode."""
        return ["-s", str(SCALE)] + ([] if self.kernelgan_iters is None else ["--iters", str(self.kernelgan_iters)])


FULL = Plan(
    name="full",
    train=(1, 16),
    source=(17, 20),
    test=(37, 40),
    train_crop=None,
    source_crop=None,
    test_crop=None,
    patch=128,
    train_patch=96,
    iters=300,
    batch=8,
    kernelgan_iters=None,
    meaningful=True,
)

# Plumbing check only: tiny crops, tens of iterations, a 60-iteration KernelGAN. Its numbers mean nothing.
QUICK = Plan(
    name="quick",
    train=(1, 2),
    source=(17, 18),
    test=(37, 38),
    train_crop=256,
    source_crop=1040,
    test_crop=128,
    patch=128,
    train_patch=64,
    iters=20,
    batch=2,
    kernelgan_iters=60,
    meaningful=False,
)


def cameras(names: list[str] | None = None) -> dict[str, Path]:
    """The camera presets (``benchmarks/cameras/*.yaml``) by name: all, or those ``names`` ask for, in order
    (``tuning`` / ``held-out`` stand for their group)."""
    found = {p.stem: p for p in sorted(CAMERA_DIR.glob("*.yaml"))}
    if not names:
        return found
    groups = {"tuning": [n for n in found if n not in HELD_OUT], "held-out": [n for n in found if n in HELD_OUT]}
    names = [m for n in names for m in groups.get(n, [n])]
    unknown = [n for n in names if n not in found]
    if unknown:
        raise SystemExit(f"unknown camera(s): {', '.join(unknown)} (have: {', '.join(found)})")
    return {n: found[n] for n in names}
