"""The wheel carries the presets: an installed (non-editable) package reads them without the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_contains_presets_and_reads_them(tmp_path: Path) -> None:
    repo_presets = sorted(p.relative_to(REPO / "presets") for p in (REPO / "presets").rglob("*.yaml"))
    assert repo_presets, "the repository ships no presets"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("realsr_cli-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    packaged = sorted(p.relative_to(site / "realsr_cli" / "presets") for p in site.glob("realsr_cli/presets/**/*.yaml"))
    assert packaged == repo_presets
    shipped = sorted(p.relative_to(REPO) for p in (REPO / "realsr_cli").rglob("*") if p.suffix in (".pt", ".npz"))
    assert shipped, "the package ships no model or parameter files"
    for path in shipped:  # the default model and the NIQE/BRISQUE parameters travel inside the wheel
        assert (site / path).is_file(), path
    probe = (
        "import realsr_cli, realsr_cli.presets as p;"
        f"assert realsr_cli.__file__.startswith({str(site)!r}), realsr_cli.__file__;"
        "print(p.preset_root());"
        "[p.load_preset(n, k) for k in p.PRESET_KINDS for n in p.list_presets(k)]"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(site)}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == site / "realsr_cli" / "presets"
