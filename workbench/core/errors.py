"""Errors the user can act on.

Every failure that reaches the CLI or the TUI is a ``WorkbenchError`` whose message is one
clear line: what failed and why. Anything else is a bug and may show a traceback.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """A failure with a message meant for the user (one line, no traceback)."""


class ModelNotFoundError(WorkbenchError):
    """No model matches the name, id or path the user gave."""


class AmbiguousModelError(WorkbenchError):
    """A short name matches more than one model."""


class UnusableModelError(WorkbenchError):
    """The model exists but cannot be loaded (no config.json, no weights, bad JSON...)."""


class WrongModelKindError(WorkbenchError):
    """The model is of the wrong kind for the request (e.g. a text model given to embed)."""


class InsufficientMemoryError(WorkbenchError):
    """Loading the model would break the memory budget, even after every allowed eviction."""


class GGUFError(WorkbenchError):
    """A GGUF file cannot be imported (unsupported architecture, tensor type, truncation)."""


class ImageError(WorkbenchError):
    """An image attachment cannot be used; the message names the source and the reason."""


class ImageTooLarge(ImageError):
    """An image (a file, a data URI or a download) over the byte cap."""


class InputError(WorkbenchError):
    """The user's input is unusable as given (empty text, bad setting...)."""


class CancelledError(WorkbenchError):
    """The request was cancelled by the user."""


class ThemeError(WorkbenchError):
    """A theme file cannot be used; the message names the file and every reason."""


class SessionError(WorkbenchError):
    """A session file cannot be used (corrupt, from a newer version, or missing)."""


class SessionForked(SessionError):
    """The session was changed elsewhere; this conversation was saved as a new session."""

    def __init__(self, message: str, new_id: str) -> None:
        super().__init__(message)
        self.new_id = new_id


class DemoFetchError(WorkbenchError):
    """A demo wheel could not be found, downloaded, verified or unpacked."""


class ClusterDown(WorkbenchError):
    """The rank group is not running (it failed to start, or a rank died)."""


class ClusterPlanError(InputError):
    """The model cannot be split over the cluster (the message says why)."""


class HostMemoryError(InsufficientMemoryError, ClusterPlanError):
    """A host of the cluster has less memory than its rank's share (an insufficient-memory
    failure first: a server answers it with 503, as it does when the pool has no room)."""


class RemoteError(WorkbenchError):
    """The server answered with an error (``code`` is its OpenAI error code)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def one_line(exc: BaseException, *, limit: int | None = None, with_type: bool = False) -> str:
    """The exception as one line for the user: its message's first line, else its class name.

    Library errors (MLX, transformers, httpx, Pillow) often carry several lines or none; the
    user sees one line and the log keeps the rest. ``with_type`` puts the class name first
    (for errors whose text alone says little, such as a ``KeyError``'s bare key); ``limit``
    cuts a long line with an ellipsis.
    """
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not text:
        text = type(exc).__name__
    elif with_type:
        text = f"{type(exc).__name__}: {text}"
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
