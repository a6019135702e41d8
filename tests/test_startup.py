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


def _exit_with(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    probe = f"import torch\nfrom realsr_cli.cli.main import exit_fast\nprint('written', end='')\n{code}"
    environ = {k: v for k, v in os.environ.items() if k != "REALSR_FAST_EXIT"} | (env or {})
    return subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, env=environ)


def test_fast_exit_keeps_the_code_and_flushes_what_was_written() -> None:
    done = _exit_with("import atexit\natexit.register(lambda: print(' teardown'))\nexit_fast(3)")
    assert done.returncode == 3 and done.stdout == "written"  # no atexit: the interpreter's teardown is skipped
    message = _exit_with("exit_fast('error: bad input')")
    assert message.returncode == 1 and message.stderr.strip() == "error: bad input"
    assert _exit_with("exit_fast(None)").returncode == 0


def test_a_normal_exit_where_teardown_may_matter(monkeypatch) -> None:
    from realsr_cli.cli import main

    normal = _exit_with(
        "import atexit\natexit.register(lambda: print(' teardown'))\nexit_fast(0)", {"REALSR_FAST_EXIT": "0"}
    )
    assert normal.returncode == 0 and normal.stdout == "written teardown\n"
    monkeypatch.setattr(main.multiprocessing, "active_children", lambda: ["a child"])
    with pytest.raises(SystemExit) as stop:
        main.exit_fast(2)  # a child process running: Python's atexit must reap it
    assert stop.value.code == 2
