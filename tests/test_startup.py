"""Start-up cost: the CLI parses without torch, and a one-photo upscale imports nothing it does not use."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

from realsr_cli.cli.main import SUBCOMMANDS
from tests.conftest import REPO, synthetic_image

HEAVY = ("torch", "torchvision", "scipy", "lpips")


def _loaded_after(code: str) -> list[str]:
    """Which of HEAVY (and the upscale path's unwanted ones) a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli(*args: str) -> str:
    return f"from realsr_cli.cli.main import app\ntry:\n    app({list(args)!r})\nexcept SystemExit:\n    pass"


def test_importing_the_cli_imports_no_heavy_module() -> None:
    assert _loaded_after("import realsr_cli.cli.main") == []


@pytest.mark.parametrize("args", [("--help",), ("upscale", "--help"), ("--version",)])
def test_help_does_not_import_torch(args) -> None:
    assert _loaded_after(_cli(*args)) == []


def test_one_photo_upscale_imports_no_torchvision_scipy_lpips(tmp_path) -> None:
    from realsr_cli.io.images import write_image

    write_image(tmp_path / "a.png", synthetic_image(16, 16))
    loaded = _loaded_after(_cli("upscale", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-q"))
    assert (tmp_path / "b.png").is_file()
    assert loaded == ["torch"]


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_listed_summary_is_the_command_help(name) -> None:
    module = importlib.import_module(f"realsr_cli.cli.{name.replace('-', '_')}")
    if hasattr(module, "app"):
        doc = module.app.info.help or module.app.registered_callback.callback.__doc__
    else:
        doc = module.command.__doc__
    assert inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ") == SUBCOMMANDS[name]


def test_unknown_subcommand_suggests(cli) -> None:
    result = cli("upscal")
    assert result.exit_code == 2 and "Did you mean 'upscale'?" in result.output
