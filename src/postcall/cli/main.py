"""The `postcall` command.  Each subcommand family lives in its own module and registers itself."""

from __future__ import annotations

import importlib

import click

from postcall import __version__

# Modules under postcall.cli that each define `register(group)`.
SUBCOMMAND_MODULES = ("check", "fx", "conversation", "runs", "serve", "simulate", "retention", "knowledge")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="postcall")
def cli() -> None:
    """Run voice agents authored as Copilot Studio topics; run the work after each call durably."""


for _name in SUBCOMMAND_MODULES:
    importlib.import_module(f"postcall.cli.{_name}").register(cli)


def main() -> None:
    cli(prog_name="postcall")


if __name__ == "__main__":
    main()
