"""``realsr profile``: the AIM 2020 Efficient SR numbers for architectures or model files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from realsr_cli.archs import list_archs
from realsr_cli.batch import failures_json, run_batch
from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    ThreadsOpt,
    finish_batch,
    handle_errors,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import out_console
from realsr_cli.device import resolve_device
from realsr_cli.errors import InputError
from realsr_cli.threads import use_threads

ArchOpt = Annotated[
    list[str] | None,
    typer.Option("--arch", "-a", help="Registered SR architecture (repeatable), or 'all'. See --list."),
]


def _targets(archs: list[str] | None, models: list[str] | None) -> list[str]:
    names: list[str] = []
    for a in archs or []:
        names += list_archs("sr") if a.strip().lower() == "all" else [p for p in a.split(",") if p.strip()]
    names += [str(m) for m in models or []]
    if not names:
        raise InputError("nothing to profile: give --arch NAME (or --arch all) and/or --model FILE")
    return names


def _table(rows: list[dict[str, Any]]) -> Table:
    mem_kind = next((r["memory_kind"] for r in rows if r.get("memory_kind")), None)
    mem_label = {"cuda_max_allocated": "Max alloc\n[MB]", "cpu_peak_rss": "Peak RSS\n[MB]"}.get(
        mem_kind or "", "Memory\n[MB]"
    )
    first = rows[0]
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"AIM 2020 protocol: LR {first['input'][0]}x{first['input'][1]}, x{first['scale']}, {first['device']}",
        caption="MACs: KAIR/AIM 2020 rule (the report's 'FLOPs'); FLOPs = 2 x MACs; activations = elements of "
        "conv outputs; fvcore/ptflops in GMACs (--verbose explains differences); runtime = best-of-runs mean per image",
    )

    def g(v: int | None) -> str:
        return "-" if v is None else f"{v / 1e9:.2f}"

    columns: list[tuple[str, Any]] = [
        ("Model", lambda r: r["name"]),
        ("Params", lambda r: f"{r['params']:,}"),
        ("MACs\n[G]", lambda r: g(r["macs"])),
        ("FLOPs\n[G]", lambda r: g(r["flops"])),
        ("Activations\n[M]", lambda r: f"{r['activations'] / 1e6:.2f}"),
        ("Convs", lambda r: str(r["conv_layers"])),
    ]
    if any(r["fvcore_macs"] is not None or r["ptflops_macs"] is not None for r in rows):
        columns += [
            ("fvcore\n[GMACs]", lambda r: g(r["fvcore_macs"])),
            ("ptflops\n[GMACs]", lambda r: g(r["ptflops_macs"])),
        ]
    if any(r["runtime_s"] is not None for r in rows):
        columns += [
            ("Runtime\n[ms]", lambda r: "-" if r["runtime_s"] is None else f"{r['runtime_s'] * 1e3:.1f}"),
            (mem_label, lambda r: "-" if r["memory_bytes"] is None else f"{r['memory_bytes'] / 2**20:.0f}"),
        ]
    for name, _ in columns:
        left = name == "Model"
        table.add_column(name, justify="left" if left else "right", no_wrap=True, min_width=16 if left else None)
    for r in rows:
        table.add_row(*(fmt(r) for _, fmt in columns))
    return table


@handle_errors
def command(
    arch: ArchOpt = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="model.pt, published weights, a zoo name or a URL.")
    ] = None,
    scale: Annotated[int, typer.Option("--scale", "-s", help="Upscaling factor for --arch.")] = 4,
    input_size: Annotated[int, typer.Option("--input-size", help="LR input side in pixels (AIM 2020: 256).")] = 256,
    images: Annotated[
        Path | None, typer.Option("--images", help="Time on these images instead of synthetic ones.")
    ] = None,
    runs: Annotated[int, typer.Option("--runs", help="Timed passes (best is reported); 0: count only.")] = 3,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    half: Annotated[bool, typer.Option("--half", help="Time in float16 (CUDA only).")] = False,
    channels_last: Annotated[bool, typer.Option("--channels-last", help="Time with channels-last tensors.")] = False,
    compile: Annotated[bool, typer.Option("--compile", help="Time the torch.compile'd model.")] = False,
    crosscheck: Annotated[
        bool,
        typer.Option("--crosscheck/--no-crosscheck", help="Also count with fvcore (one real forward) and ptflops."),
    ] = True,
    fvcore: Annotated[
        bool | None,
        typer.Option("--fvcore/--no-fvcore", help="Force fvcore on/off (default: CUDA, or CPU up to 200 GMACs)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Explain fvcore/ptflops vs KAIR differences.")
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="List registered architectures and exit.")] = False,
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Params, MACs/FLOPs (AIM 2020 rule), activations, conv layers, runtime and peak memory of SR models.

    Counting runs on the meta device (instant); fvcore and timing use real compute. Example:
    realsr profile --arch all --input-size 256 --runs 0
    """
    if list_:
        _list_archs()
        return
    reserve_reports(overwrite, json_out)
    use_threads(threads)
    if input_size < 8:
        raise InputError(f"--input-size {input_size}: must be at least 8 pixels")
    if runs < 0:
        raise InputError(f"--runs {runs}: must be 0 or more")
    from realsr_cli.profiling.report import load_images, profile_one

    dev = resolve_device(device)
    targets = _targets(arch, model)
    inputs = load_images(images) if images is not None and runs > 0 else None
    batch = run_batch(
        targets,
        lambda target: profile_one(
            target,
            scale=scale,
            input_size=input_size,
            images=inputs,
            runs=runs,
            device=dev,
            half=half,
            channels_last=channels_last,
            compile=compile,
            crosscheck=crosscheck,
            fvcore=fvcore,
        ),
        path_of=Path,
        label="profiling",
        quiet=quiet,
    )
    rows: list[dict[str, Any]] = batch.results
    if rows and not quiet:
        console = (
            out_console
            if out_console.is_terminal
            else Console(highlight=False, markup=False, width=max(out_console.width, 160))
        )
        console.print(_table(rows))
        if verbose:
            for r in rows:
                out_console.print(r["name"], style="bold")
                for line in r["explain"]:
                    out_console.print(f"  {line}", markup=False, soft_wrap=True)
            if rows[0].get("memory_kind") == "cpu_peak_rss":
                out_console.print(
                    "  memory: peak resident set size of this process during the timed passes "
                    "(includes the Python runtime and weights); JSON also gives the increase over the RSS before them",
                    markup=False,
                    soft_wrap=True,
                )
    write_json_result(json_out, {"rows": rows, "failures": failures_json(batch.failures)}, overwrite)
    finish_batch(batch.failures, len(targets))


def _list_archs() -> None:
    from realsr_cli.archs import arch_spec

    table = Table(title="Registered architectures")
    for col in ("Name", "Kind", "Scales", "Paper"):
        table.add_column(col)
    for name in list_archs(None):
        spec = arch_spec(name)
        table.add_row(name, spec.kind, ",".join(f"x{s}" for s in spec.scales) or "-", spec.paper)
    out_console.print(table)
