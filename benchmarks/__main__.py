"""Run every benchmark module (or those named on the command line): ``python -m benchmarks [NAME ...]``.

``python -m benchmarks cameras [--quick] [--cameras a,b] [--out DIR]`` runs the camera zoo (``benchmarks/cameras``),
which is not part of the default set: its full run takes most of an hour. Nor is
``python -m benchmarks kernelgan-fidelity --original DIR [--iters N] [--photos K] [--seeds S] [--out DIR]``
(``kernelgan_fidelity`` too): the original KernelGAN beside this tool (``benchmarks/kernelgan_fidelity``), hours;
``python -m benchmarks kernelgan-speed --original DIR [--iters N]``: their seconds per photo only, minutes.
``python -m benchmarks dsgan-size [--sizes 64x8,32x8] [--stages 500,1000,2000] [--out DIR]``: what smaller DSGAN
crops cost (``benchmarks/dsgan_size.py``), most of an hour.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[:1] == ["cameras"]:
        from benchmarks.cameras.runner import main as cameras

        return cameras(argv[1:])
    if argv[:1] in (["kernelgan-fidelity"], ["kernelgan_fidelity"]):
        from benchmarks.kernelgan_fidelity.runner import main as fidelity

        return fidelity(argv[1:])
    if argv[:1] in (["kernelgan-speed"], ["kernelgan_speed"]):
        from benchmarks.kernelgan_fidelity.speed import main as speed

        return speed(argv[1:])
    if argv[:1] in (["dsgan-size"], ["dsgan_size"]):
        from benchmarks.dsgan_size import main as dsgan_size

        return dsgan_size(argv[1:])
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in argv] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(names)})", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
