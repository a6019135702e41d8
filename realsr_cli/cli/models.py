"""``realsr models list|fetch|interpolate``: the model zoo and its verified cache (:mod:`realsr_cli.models.zoo`),
and network interpolation of two model files (:mod:`realsr_cli.models.interpolation`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from realsr_cli.cli.common import JsonOpt, OverwriteOpt, QuietOpt, handle_errors, write_json_result
from realsr_cli.cli.grammar import GrammarCommand, GrammarGroup
from realsr_cli.console import info_line, out_console
from realsr_cli.errors import InputError
from realsr_cli.models import zoo
from realsr_cli.models.cache import cache_dir
from realsr_cli.models.zoo import ZooEntry, fetch_entry, find_entry, is_url, url_entry

app = typer.Typer(
    cls=GrammarGroup,
    help="Named published models and ImageNet backbones: list them, fetch them into the cache; blend two models.",
)


def _size(entry: ZooEntry) -> str:
    path = entry.path
    size = path.stat().st_size if path.is_file() else entry.size
    return f"{size / 1e6:.1f} MB" if size else "?"


def entry_row(entry: ZooEntry) -> dict[str, object]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "arch": entry.arch,
        "scale": entry.scale,
        "license": entry.license,
        "size": _size(entry),
        "source": entry.source,
        "url": entry.url,
        "sha256": entry.hash_status(),
        "sha256_value": entry.sha256,
        "sha256_source": entry.hash_source or "recorded at first use",
        "cached": entry.path.is_file(),
        "path": str(entry.path),
    }


@app.command("list", cls=GrammarCommand)
@handle_errors
def list_command(json_file: JsonOpt = None, overwrite: OverwriteOpt = False) -> None:
    """Name, architecture, scale, licence, size, source, hash and whether each file is in the cache."""
    rows = [entry_row(e) for e in zoo.ALL]
    table = Table(title=f"realsr models (cache: {cache_dir()})")
    for column in ("name", "arch", "scale", "license", "size", "source", "sha256", "cached"):
        table.add_column(column, justify="right" if column in ("scale", "size") else "left", no_wrap=column == "name")
    for r in rows:
        scale = f"x{r['scale']}" if r["kind"] == "sr" else "-"
        cached = Text("yes", style="green") if r["cached"] else Text("no")
        table.add_row(
            str(r["name"]), str(r["arch"]), scale, str(r["license"]), str(r["size"]), str(r["source"]),
            str(r["sha256"]), cached,
        )  # fmt: skip
    out_console.print(table)
    write_json_result(json_file, rows, overwrite)


@app.command("fetch", cls=GrammarCommand)
@handle_errors
def fetch_command(
    names: Annotated[list[str], typer.Argument(help="Names from 'realsr models list' (or URLs); 'all' for every one.")],
    quiet: QuietOpt = False,
) -> None:
    """Download models (and LPIPS / VGG backbones) into torch hub's cache, verified by sha256."""
    entries = list(zoo.ALL) if [n.lower() for n in names] == ["all"] else [_entry(n) for n in names]
    for entry in entries:
        path = fetch_entry(entry, quiet)
        info_line(f"{entry.name}: {path} ({entry.hash_status()})", quiet)


@app.command("interpolate", cls=GrammarCommand)
@handle_errors
def interpolate_command(
    first: Annotated[Path, typer.Argument(help="Model file A (weight 0).")],
    second: Annotated[Path, typer.Argument(help="Model file B (weight 1), same architecture and scale.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The blended model.pt to write.")],
    weight: Annotated[float, typer.Option("--weight", "-w", help="(1 - w) * A + w * B, 0..1.")] = 0.5,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Network interpolation (DNI, Wang et al. CVPR 2019): blend two models' weights into one model file."""
    from realsr_cli.models.interpolation import write_interpolated

    path = write_interpolated(first, second, weight, out, overwrite)
    info_line(f"{path}: (1 - {weight:g}) * {first} + {weight:g} * {second}", quiet)


def _entry(name: str) -> ZooEntry:
    if is_url(name):
        return url_entry(name)
    entry = find_entry(name)
    if entry is None:
        raise InputError(f"{name}: not a model name (see 'realsr models list') nor an http(s) URL")
    return entry
