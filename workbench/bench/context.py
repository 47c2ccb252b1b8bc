"""What the benchmark groups share in one run: options, the models, both sides' owners.

Resolving a model, importing a GGUF, starting the runner and loading the raw baseline are
each done once, on first use, and torn down by ``close``. Sizes (rounds, tokens, sentences)
come from ``BenchOptions`` so that ``--quick`` shrinks every group the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.bench.harness import NotAvailable, require
from workbench.bench.raw import OwnerThread, RawEmbed, RawText
from workbench.core.config import Config
from workbench.core.errors import WorkbenchError, WrongModelKindError
from workbench.core.types import ModelInfo, ModelKind

if TYPE_CHECKING:
    from workbench.bench.ours import OurSide

DEFAULT_TEXT = "SmolLM2-135M-Instruct"
DEFAULT_EMBED = "all-MiniLM-L6-v2"
DEFAULT_REPLY_TOKENS = 256

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how much. ``quick`` is for tests: every size shrinks."""

    quick: bool = False
    text_model: str | None = None
    embed_model: str | None = None
    only: tuple[str, ...] = ()
    config: Config = dataclasses.field(default_factory=Config)
    reply_tokens: int | None = None  # the decode groups' reply length (None: the default)
    decode_rounds_wanted: int | None = None  # the decode groups' rounds (None: the default)

    @property
    def rounds(self) -> int:
        return 1 if self.quick else 3

    @property
    def decode_rounds(self) -> int:
        """Rounds for the decode comparisons, whose goals are tightest (within 2–5 %)."""
        if self.decode_rounds_wanted is not None:
            return self.decode_rounds_wanted
        return 1 if self.quick else 5

    @property
    def max_tokens(self) -> int:
        """Tokens per reply in the decode groups: 256 by default, enough to show per-token
        costs at GPU speeds (a reply of 32 hides what grows with its length)."""
        if self.reply_tokens is not None:
            return self.reply_tokens
        return 8 if self.quick else DEFAULT_REPLY_TOKENS

    @property
    def sentences(self) -> int:
        return 16 if self.quick else 1000

    @property
    def blas_sentences(self) -> int:
        return 8 if self.quick else 200

    @property
    def matmul_size(self) -> int:
        """Rows and columns of the BLAS group's fp32 matmul."""
        return 256 if self.quick else 1024

    @property
    def chat_turns(self) -> int:
        return 3 if self.quick else 10

    @property
    def turn_tokens(self) -> int:
        return 4 if self.quick else 8

    def settings(self) -> dict[str, object]:
        """The options as plain data, for the JSON report."""
        return {
            "quick": self.quick,
            "text_model": self.text_model or DEFAULT_TEXT,
            "embed_model": self.embed_model or DEFAULT_EMBED,
            "only": list(self.only),
            "rounds": self.rounds,
            "decode_rounds": self.decode_rounds,
            "max_tokens": self.max_tokens,
            "sentences": self.sentences,
            "chat_turns": self.chat_turns,
        }


class BenchContext:
    """Lazily built shared pieces of one benchmark run; call ``close`` at the end."""

    def __init__(self, options: BenchOptions, progress: Progress | None = None) -> None:
        self.options = options
        self.say: Progress = progress or (lambda _message: None)
        self._models: dict[str, ModelInfo] = {}
        self._folders: dict[str, Path] = {}
        self._raw_thread: OwnerThread | None = None
        self._raw: dict[str, Any] = {}
        self._client: OurSide | None = None

    # ------------------------------------------------------------------ models

    def text_model(self) -> ModelInfo:
        return self._model("text", self.options.text_model, DEFAULT_TEXT, ModelKind.TEXT)

    def embed_model(self) -> ModelInfo:
        embed = ModelKind.EMBEDDINGS
        return self._model("embed", self.options.embed_model, DEFAULT_EMBED, embed)

    def model_dir(self, info: ModelInfo) -> Path:
        """The MLX folder both sides load (a GGUF-only model is imported first, once)."""
        if info.gguf_source is None:
            return info.path
        if info.id not in self._folders:
            from workbench.core.gguf.importer import ensure_imported

            self.say(f"importing {info.gguf_source.name} (once; cached afterwards)…")
            self._folders[info.id] = ensure_imported(info.gguf_source)
        return self._folders[info.id]

    def _model(self, role: str, query: str | None, default: str, kind: ModelKind) -> ModelInfo:
        if role not in self._models:
            info = resolve(query, default, self.options.config)
            if info.kind is not kind:
                flag = "--model" if role == "text" else "--embed-model"
                raise WrongModelKindError(
                    f"{flag} needs {_a(kind)} model, and {info.name} is {_a(info.kind)} model"
                )
            self._models[role] = info
        return self._models[role]

    # ------------------------------------------------------------------ raw side

    @property
    def raw_thread(self) -> OwnerThread:
        if self._raw_thread is None:
            self._raw_thread = OwnerThread("bench-raw")
        return self._raw_thread

    def raw_text(self) -> RawText:
        """mlx-lm on the raw thread, loaded once."""
        if "text" not in self._raw:
            info = self.text_model()
            raw = RawText(self.model_dir(info), info.family)
            self.say(f"loading {info.name} with mlx-lm…")
            self.raw_thread.call(raw.load)
            self._raw["text"] = raw
        return self._raw["text"]

    def raw_embed(self) -> RawEmbed:
        """mlx-embeddings on the raw thread, loaded once."""
        if "embed" not in self._raw:
            raw = RawEmbed(self.model_dir(self.embed_model()))
            self.raw_thread.call(raw.load)
            self._raw["embed"] = raw
        return self._raw["embed"]

    def drop_raw(self, role: str) -> None:
        raw = self._raw.pop(role, None)
        if raw is not None:
            self.raw_thread.call(raw.unload)

    # ------------------------------------------------------------------ our side

    def ours(self) -> OurSide:
        """Our side: the runner (pool + owner thread) behind a blocking client, started once."""
        if self._client is None:
            from workbench.bench.ours import OurSide

            self._client = OurSide.start(self.options.config, self._catalog(), self.say)
        return self._client

    def _catalog(self) -> list[ModelInfo]:
        """The models the runner may load: the text and embedding models that resolve."""
        found = []
        for pick in (self.text_model, self.embed_model):
            try:
                found.append(pick())
            except (NotAvailable, WorkbenchError):
                continue  # the group that needs it reports why
        return found

    def close(self) -> None:
        for role in list(self._raw):
            self.drop_raw(role)
        if self._raw_thread is not None:
            self._raw_thread.close()
        if self._client is not None:
            self._client.close()
            self._client = None


def resolve(query: str | None, default: str, config: Config) -> ModelInfo:
    """The model ``query`` names (any spelling the CLI accepts), or the named demo model."""
    catalog = require("workbench.core.models.catalog", "scan_catalog", "demo_models")
    if query is None:
        for info in catalog.demo_models():
            if info.name == default:
                return info
        raise NotAvailable(f"demo model {default} is not installed (run `mlxbench demo install`)")
    resolver = require("workbench.core.models.resolve", "resolve_model")
    return resolver.resolve_model(query, catalog.scan_catalog(config))


def _a(kind: ModelKind) -> str:
    """ "a text", "an embeddings": the kind with its article."""
    return f"{'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value}"
