"""``realsr score``: thin CLI over ``realsr_cli.scoring``."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
from realsr_cli.console import out_console, warn_line
from realsr_cli.device import resolve_device
from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_text
from realsr_cli.scoring import (
    FolderScore,
    ScoreOptions,
    Scorer,
    direction_arrow,
    iqa_rank,
    parse_metrics,
    score_folder,
)
from realsr_cli.threads import use_threads

DIGITS = {"psnr": 4, "ssim": 4, "lpips": 4, "niqe": 4, "brisque": 4, "piqe": 4, "aim2020": 4}


@handle_errors
def command(
    paths: Annotated[
        list[Path], typer.Argument(metavar="SR_DIR [GT_DIR]", help="SR_DIR [GT_DIR]; with --rank: several SR folders.")
    ],
    gt: Annotated[Path | None, typer.Option("--gt", help="Ground-truth folder (alternative to GT_DIR).")] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            help="Comma list of psnr,ssim,lpips,niqe,brisque,piqe. Default: psnr,ssim with GT, else niqe,brisque,piqe.",
        ),
    ] = None,
    crop_border: Annotated[int, typer.Option("--crop-border", min=0, help="Pixels removed on each side.")] = 0,
    y_channel: Annotated[
        bool, typer.Option("--y-channel/--rgb", help="PSNR/SSIM on the Y of MATLAB rgb2ycbcr, or on RGB.")
    ] = False,
    crop_to_gt: Annotated[
        bool, typer.Option("--crop-to-gt", help="When SR and GT sizes differ, compare the common top-left region.")
    ] = False,
    suffix: Annotated[str | None, typer.Option("--suffix", help="SR name suffix to strip, e.g. _x4 or _SR.")] = None,
    rank: Annotated[bool, typer.Option("--rank", help="NTIRE 2020 IQA-rank across several SR folders.")] = False,
    lpips_net: Annotated[str, typer.Option("--lpips-net", help="LPIPS backbone: alex or vgg.")] = "alex",
    lpips_weights: Annotated[
        Path | None,
        typer.Option("--lpips-weights", help="Backbone weights file (else $REALSR_LPIPS_BACKBONE, caches)."),
    ] = None,
    niqe_color: Annotated[
        str, typer.Option("--niqe-color", help="NIQE input: gray (MATLAB rgb2gray, as MATLAB niqe) or y.")
    ] = "gray",
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the numbers as CSV.")] = None,
    json_path: JsonOpt = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score SR images: PSNR / SSIM / LPIPS against GT_DIR, NIQE / BRISQUE / PIQE without; --rank compares methods."""
    reserve_reports(overwrite, json_path, csv_path)
    use_threads(threads)
    sr_dirs, gt_dir = _split_paths(paths, gt, rank)
    names = parse_metrics(metrics, gt_dir is not None)
    if niqe_color not in ("gray", "y"):
        raise InputError(f"--niqe-color {niqe_color}: expected gray or y")
    options = ScoreOptions(
        metrics=names,
        crop_border=crop_border,
        y_channel=y_channel,
        crop_to_gt=crop_to_gt,
        suffix=suffix,
        device=resolve_device(device),
        lpips_net=lpips_net,
        lpips_weights=lpips_weights,
        niqe_color=niqe_color,
    )

    scorer = Scorer(options)
    results = [score_folder(d, gt_dir, options, quiet=quiet, scorer=scorer) for d in sr_dirs]
    for res in results:
        _report_unmatched(res)
        if not quiet:
            out_console.print(_table(res))
    ranking = iqa_rank(results, names) if rank else None
    if ranking:
        left_out = sum(len(r.rows) for r in results) - len(results) * len(ranking["images"])
        if left_out:
            warn_line(f"--rank uses the {len(ranking['images'])} image(s) present in every folder; {left_out} left out")
        if not quiet:
            out_console.print(_rank_table(ranking))
    payload: dict[str, Any] = results[0].to_json() if len(results) == 1 else {"folders": [r.to_json() for r in results]}
    if ranking:
        payload["rank"] = ranking
    write_json_result(json_path, payload, overwrite)
    if csv_path is not None:
        atomic_write_text(csv_path, _csv(results), overwrite=overwrite)
    failures = [f for r in results for f in r.failures]
    finish_batch(failures, sum(len(r.rows) for r in results) + len(failures))


def _split_paths(paths: list[Path], gt: Path | None, rank: bool) -> tuple[list[Path], Path | None]:
    if rank:
        if len(paths) < 2:
            raise InputError("--rank needs at least two SR folders")
        return paths, gt
    if len(paths) > 2 or (len(paths) == 2 and gt is not None):
        raise InputError("give SR_DIR [GT_DIR] (several SR folders only with --rank)")
    return [paths[0]], paths[1] if len(paths) == 2 else gt


def _report_unmatched(res: FolderScore) -> None:
    for kind, files in (("SR", res.unmatched_sr), ("GT", res.unmatched_gt)):
        if files:
            shown = ", ".join(p.name for p in files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
            warn_line(f"{len(files)} {kind} file(s) without a match, not scored: {shown}")


def _fmt(value: Any, column: str) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.{DIGITS.get(column, 4)}f}"
    return str(value)


def _table(res: FolderScore) -> Table:
    title = f"{res.sr_dir}" + (f" vs {res.gt_dir}" if res.gt_dir else "")
    table = Table(title=title)
    table.add_column("image")
    for c in res.columns:
        table.add_column(f"{c.upper()} {direction_arrow(c)}", justify="right")
    for row in res.rows:
        table.add_row(row["stem"], *(_fmt(row.get(c), c) for c in res.columns))
    if res.rows:
        table.add_section()
        table.add_row(f"mean ({len(res.rows)})", *(_fmt(res.mean.get(c), c) for c in res.columns), style="bold")
    return table


def _rank_table(ranking: dict[str, Any]) -> Table:
    table = Table(
        title=f"IQA-rank over {len(ranking['images'])} image(s) ({', '.join(ranking['metrics'])}; lower is better)"
    )
    table.add_column("place", justify="right")
    table.add_column("folder")
    table.add_column("IQA-rank", justify="right")
    for m in ranking["metrics"]:
        table.add_column(f"rank {m}", justify="right")
    for f in ranking["folders"]:
        ranks = [f"{f['mean_rank'][m]:.3f}" for m in ranking["metrics"]]
        table.add_row(str(f["place"]), f["folder"], f"{f['iqa_rank']:.3f}", *ranks)
    return table


def _csv(results: list[FolderScore]) -> str:
    buf = io.StringIO()
    columns = results[0].columns
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["folder", "image", "sr", "gt", *columns])
    for res in results:
        for row in res.rows:
            writer.writerow([res.sr_dir, row["stem"], row["sr"], row["gt"] or "", *(row.get(c) for c in columns)])
        writer.writerow([res.sr_dir, "mean", "", "", *(res.mean.get(c) for c in columns)])
    return buf.getvalue()
