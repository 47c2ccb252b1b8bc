"""The ``mlxbench`` command: argparse front door to the TUI and the headless subcommands.

Each subcommand lives in ``workbench.commands.<name>`` with ``add_parser`` and ``run``.
Nothing heavy is imported here, so ``mlxbench --help`` and the TUI's first frame stay fast.
A ``WorkbenchError`` becomes one line on stderr and exit status 2, never a traceback; any
other exception becomes one line plus the log file's path (the traceback is in the log), exit
status 1. A closed pipe (``mlxbench embed … | head``) ends quietly with status 0.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from workbench import __version__
from workbench.core.errors import WorkbenchError, one_line

COMMAND_MODULES = (
    "models",
    "chat",
    "embed",
    "import_gguf",
    "pool",
    "bench",
    "demo",
    "doctor",
    "complete",
    "compare",
    "serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlxbench",
        description="A terminal workbench for local MLX models. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"mlxbench {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="write debug detail to the log file (also: MLXBENCH_LOG=debug)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"workbench.commands.{name}")
        module.add_parser(subparsers)
    importlib.import_module("workbench.commands.app").add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        handler = importlib.import_module("workbench.commands.app").run
    try:
        return _run(handler, args)
    except BrokenPipeError:
        return _pipe_closed()


def _run(handler: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    from workbench.core.logs import close_logging, details_hint, setup_logging
    from workbench.core.paths import check_home

    try:
        check_home()
        setup_logging(debug=getattr(args, "debug", False))
        command = getattr(args, "command", None) or "app"
        logging.getLogger("workbench.cli").info("mlxbench %s: %s", __version__, command)
        return int(handler(args) or 0)  # type: ignore[call-overload]
    except WorkbenchError as exc:
        print(f"mlxbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlxbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:
        from workbench.core.runner.mlx_backend import explain, is_backend_missing

        logging.getLogger("workbench.cli").exception("unexpected error")
        if is_backend_missing(exc):
            print(f"mlxbench: error: {explain(exc)}", file=sys.stderr)
            return 2
        print(
            f"mlxbench: unexpected error: {one_line(exc, with_type=True)}{details_hint()}",
            file=sys.stderr,
        )
        return 1
    finally:
        close_logging()  # flushed and closed; main() may be called again (tests, scripts)


def _pipe_closed() -> int:
    """The reader went away (``| head``): stop quietly, as Unix tools do.

    stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
