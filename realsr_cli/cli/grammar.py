"""The command-line grammar every subcommand shares, and help that shows it (README: "Command-line grammar").

* Positional arguments first, in data-flow order (inputs, then, for ``degrade`` and ``upscale``, the output);
  every command that writes a file or folder also takes it as ``-o/--output``.
* One spelling per option across subcommands: ``-o/--output``, ``-m/--model``, ``-s/--scale``, ``-p/--preset``,
  ``--patch-size``, ``-q/--quiet``, ``--json``, ``--overwrite``, ``--seed``, ``--device``, ``--threads``.
* Old spellings stay accepted as hidden aliases (:data:`HIDDEN_ALIASES`, and a module's own ``ALIASES``): the
  parser maps them to the current option; help never shows them.

Help: typer renders every option's type after it, so a flag read ``--tta <bool>`` as if it took a value, and
usage lines read ``{input} {output}``; :class:`ReadableHelp` shows flags bare, arguments in capitals
(``INPUT [OUTPUT]``, optional ones in brackets). Only typer is imported here: ``realsr X --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# Old spelling -> current option, for every subcommand that has the current option (and not the old one).
HIDDEN_ALIASES: dict[str, str] = {
    "--out": "--output",  # learn-degradation, train-sr before the grammar
    "--patch": "--patch-size",  # learn-degradation's dsgan/cyclegan crop
}


class ReadableHelp:
    """Mixin for typer commands and groups: flags without a ``<bool>`` type, arguments as ``NAME`` in capitals."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if param.metavar is not None:
                continue
            if isinstance(param, TyperOption) and param.is_flag:
                param.metavar = ""  # a flag takes no value: nothing after it (typer shows the metavar as its type)
            elif isinstance(param, TyperArgument):
                param.metavar = (param.name or "arg").upper() + ("..." if param.nargs != 1 else "")
        return params


class GrammarCommand(ReadableHelp, TyperCommand):
    """A subcommand: readable help, a usage line ``[OPTIONS] INPUT [OUTPUT]``, and the hidden old spellings."""

    aliases: dict[str, str] = {}  # this command's own old spellings (a module's ``ALIASES``), on top of the shared

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "arg").upper()
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces += param.get_usage_pieces(ctx)
        return pieces

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        for old, new in {**HIDDEN_ALIASES, **self.aliases}.items():
            table = parser._long_opt if old.startswith("--") else parser._short_opt
            target = (parser._long_opt if new.startswith("--") else parser._short_opt).get(new)
            if target is not None and old not in table:  # never shadows a real option of this command
                table[old] = target
        return parser


class GrammarGroup(ReadableHelp, TyperGroup):
    """A command group (``realsr``, ``realsr models``) with readable help."""
