"""Run the original KernelGAN (a sefibk/KernelGAN checkout) on one image, on the CPU, patched at run time.

``python original_shim.py ORIGINAL IMAGE OUT ITERS SEED RESULT_JSON``: executed in a subprocess by
:mod:`benchmarks.kernelgan_fidelity.original`, so that the patches never reach this project's process. The
checkout's files are imported as they are; only these are patched, in memory:

* ``.cuda()`` of tensors and modules returns ``self`` and ``torch.cuda.set_device`` does nothing (the code calls
  them unconditionally; it has no CPU path);
* ``np.int`` (removed in NumPy 1.24; ``kernel_shift`` uses it) is ``int``; the ``scipy.ndimage.filters /
  measurements / interpolation`` aliases, when a SciPy has removed them, are ``scipy.ndimage``;
* ``ZSSRforKernelGAN.ZSSR`` (TensorFlow 1, imported by util.py, run only with ``--SR``) and, when not
  installed, ``matplotlib.pyplot`` (used only to save ZSSR's output) are empty stand-ins.

Seeds: the original has none; Python's, NumPy's global and torch's generators are seeded with SEED (its crops
and D noise come from ``np.random``, its initialisation and G-output noise from torch). One thread (``$KERNELGAN_THREADS``
for more); the
time is that of ``train()`` (reading the image, the crop maps, the ITERS iterations, post-processing, saving).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import random
import sys
import time
import types
from pathlib import Path

THREADS_ENV = "KERNELGAN_THREADS"  # the original's torch threads (default 1)


def patch_torch() -> None:
    import torch
    from torch import nn

    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.cuda.set_device = lambda *args, **kwargs: None
    torch.set_num_threads(int(os.environ.get(THREADS_ENV, "1")))


def patch_numpy_scipy() -> None:
    import numpy as np
    import scipy.ndimage

    if "int" not in np.__dict__:
        np.int = int
    for name in ("filters", "measurements", "interpolation"):
        try:
            importlib.import_module(f"scipy.ndimage.{name}")
        except ImportError:
            sys.modules[f"scipy.ndimage.{name}"] = scipy.ndimage
            setattr(scipy.ndimage, name, scipy.ndimage)


def stub(name: str, **attrs: object) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def stub_unused_imports(original: Path) -> None:
    def zssr(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ZSSR is not run by the fidelity benchmark")

    if "ZSSRforKernelGAN" not in sys.modules:
        stub("ZSSRforKernelGAN", __path__=[str(original / "ZSSRforKernelGAN")])
    stub("ZSSRforKernelGAN.ZSSR", ZSSR=zssr)
    if importlib.util.find_spec("matplotlib") is None:
        stub("matplotlib")
        stub("matplotlib.pyplot")


def warm_up() -> None:
    """One Adam step on a dummy parameter: its one-off import of ``torch._dynamo`` (~2 s) is not KernelGAN's time
    (the benchmark warms this tool's process the same way)."""
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    param.grad = torch.ones(1)
    torch.optim.Adam([param]).step()


def seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run(original: Path, image: Path, out: Path, iters: int, seed: int) -> dict:
    """Train the original on ``image`` (its ``train.train`` with ``--X4``); the kernels' paths and the seconds."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [str(original)] + [p for p in sys.path if Path(p or ".").resolve() != Path(here)]
    patch_torch()
    patch_numpy_scipy()
    stub_unused_imports(original)
    from configs import Config
    from train import train

    args = ["--input_image_path", str(image), "--output_dir_path", str(out), "--X4", "--max_iters", str(iters)]
    conf = Config().parse(args)
    warm_up()
    seed_all(seed)
    start = time.perf_counter()
    train(conf)
    seconds = time.perf_counter() - start
    folder = Path(conf.output_dir_path)
    return {
        "seconds": seconds,
        "kernel_x2": str(folder / f"{conf.img_name}_kernel_x2.mat"),
        "kernel_x4": str(folder / f"{conf.img_name}_kernel_x4.mat"),
    }


def main(argv: list[str]) -> int:
    original, image, out, iters, seed, result = argv
    found = run(Path(original).resolve(), Path(image).resolve(), Path(out).resolve(), int(iters), int(seed))
    Path(result).write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
