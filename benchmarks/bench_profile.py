"""Forward-pass runtime of every registered SR architecture vs its MACs and activations (AIM 2020 finding).

The AIM 2020 Efficient SR report observed that the number of activations predicts runtime far better than FLOPs.
For each architecture this prints its MACs, activations and runtime ranks, the ratio runtime-rank / MACs-rank and
runtime-rank / activations-rank (1.0 = the count ranks the model exactly where its runtime does), and Spearman's
rank correlation of runtime with each count. CPU at a small LR size (env ``BENCH_PROFILE_SIZE``, default 32, ``x4``);
CUDA at 256x256 as well when present. Counting runs on the meta device; timing is best of 3 after one warm-up.
"""

from __future__ import annotations

import os

import torch

from realsr_cli.archs import arch_spec, build_arch, list_archs
from realsr_cli.profiling import count_complexity
from realsr_cli.profiling.runtime import measure, prepare


def _ranks(values: list[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0] * len(values)
    for r, i in enumerate(order, start=1):
        ranks[i] = r
    return ranks


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    n = len(a)
    return 1 - 6 * sum((x - y) ** 2 for x, y in zip(ra, rb, strict=True)) / (n * (n * n - 1))


def run(device: torch.device, size: int, runs: int = 3) -> None:
    names = list_archs("sr")
    counts, times = [], []
    for name in names:
        model = prepare(build_arch(name, scale=4), device)
        c = count_complexity(model, size, size)
        t = measure(model, [torch.rand(1, 3, size, size)], device, runs=runs)
        counts.append(c)
        times.append(t.seconds_per_image)
        del model
    macs = [c.macs for c in counts]
    acts = [c.activations for c in counts]
    r_t, r_m, r_a = _ranks(times), _ranks(macs), _ranks(acts)
    print(f"\n{device.type.upper()} LR {size}x{size} x4 (best of {runs}, per image); ranks 1 = smallest")
    print(f"{'model':<18}{'GMACs':>10}{'M act':>10}{'ms':>10}  rank t/MACs/act  t-rank/MACs-rank  t-rank/act-rank")
    for i, name in enumerate(names):
        print(
            f"{arch_spec(name).display:<18}{macs[i] / 1e9:>10.3f}{acts[i] / 1e6:>10.2f}{times[i] * 1e3:>10.1f}"
            f"  {r_t[i]:>2}/{r_m[i]:>2}/{r_a[i]:>2}      {r_t[i] / r_m[i]:>10.2f}  {r_t[i] / r_a[i]:>15.2f}"
        )
    rho_m, rho_a = spearman(times, macs), spearman(times, acts)
    print(f"Spearman rank correlation with runtime: MACs {rho_m:.3f}, activations {rho_a:.3f}")
    mean_dev_m = sum(abs(t - m) for t, m in zip(r_t, r_m, strict=True)) / len(names)
    mean_dev_a = sum(abs(t - a) for t, a in zip(r_t, r_a, strict=True)) / len(names)
    print(f"mean |runtime rank - count rank|: MACs {mean_dev_m:.2f}, activations {mean_dev_a:.2f}")


def main() -> None:
    torch.set_num_threads(max(1, int(os.environ.get("BENCH_THREADS", "1"))))
    run(torch.device("cpu"), int(os.environ.get("BENCH_PROFILE_SIZE", "32")))
    if torch.cuda.is_available():
        run(torch.device("cuda"), 256, runs=5)


if __name__ == "__main__":
    main()
