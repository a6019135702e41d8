"""``python -m realsr_cli``: the ``realsr`` command."""

from realsr_cli.cli.main import run

run()
