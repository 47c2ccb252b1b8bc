"""The log file: where full tracebacks go, so users see one line and a bug report has the rest.

Every command and the app write to one rotating file in the platform's user log folder
(``<MLXBENCH_HOME>/logs`` when that is set). Warnings and errors — runner-thread failures with
their tracebacks among them — are always written; ``--debug`` or ``MLXBENCH_LOG=debug`` adds
everything else. A log folder that cannot be written never stops the program: it then logs
nowhere, and says so once on stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

import platformdirs

from workbench.core import paths

LOG_NAME = "mlxbench.log"
MAX_BYTES = 2 * 1024**2
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}

_handler: logging.Handler | None = None
_file: Path | None = None


def log_dir() -> Path:
    """The folder of the log file (platformdirs' user log folder, or under MLXBENCH_HOME)."""
    home = os.environ.get("MLXBENCH_HOME")
    if home:
        return Path(home).expanduser() / "logs"
    return Path(platformdirs.user_log_dir(paths.APP_NAME))


def log_file() -> Path:
    """Where the log is (or would be) written."""
    return _file or log_dir() / LOG_NAME


def active_log_file() -> Path | None:
    """The log file in use now, or None before ``setup_logging`` (or when it failed)."""
    return _file


def wanted_level(debug: bool = False) -> int:
    """DEBUG with ``--debug``; else ``MLXBENCH_LOG`` (debug / info / warning); else INFO."""
    if debug:
        return logging.DEBUG
    return LEVELS.get(os.environ.get("MLXBENCH_LOG", "").strip().lower(), logging.INFO)


def setup_logging(debug: bool = False) -> Path | None:
    """Send the ``workbench`` loggers to the rotating file; returns its path (None if the
    folder cannot be written). Safe to call more than once."""
    global _handler, _file
    level = wanted_level(debug)
    root = logging.getLogger("workbench")
    root.setLevel(level)
    path = log_dir() / LOG_NAME
    if _handler is not None and path == _file:
        _handler.setLevel(level)
        return _file
    close_logging()  # first call, or MLXBENCH_HOME changed since (tests)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
        if path.exists() and not path.is_file():
            raise IsADirectoryError(f"{path} is not a file")
    except OSError as exc:
        print(f"mlxbench: warning: cannot write the log in {path.parent}: {exc}", file=sys.stderr)
        _handler = logging.NullHandler()  # tracebacks must not land on the app's screen
        root.addHandler(_handler)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    _handler, _file = handler, path
    return path


def details_hint() -> str:
    """ " (details in <log>)" when a log file is in use, else ""."""
    path = active_log_file()
    return f" (details in {path})" if path is not None else ""


def close_logging() -> None:
    """Detach and close the file handler (tests; a second ``setup_logging`` reopens it)."""
    global _handler, _file
    if _handler is not None:
        logging.getLogger("workbench").removeHandler(_handler)
        _handler.close()
    _handler, _file = None, None


def log_failure(error: BaseException | None, what: str = "the engine failed") -> None:
    """Write ``error`` with its traceback to the log (for failures the UI shows as a line)."""
    if error is not None:
        logging.getLogger("workbench").error(what, exc_info=error)
