"""Request bodies of the OpenAI routes, as pydantic models (FastAPI validates them).

Only what the server acts on is declared; other OpenAI fields are accepted and ignored
(``extra="allow"``), except those whose silent omission would mislead a caller (several
choices, tools, log-probabilities): those are refused with a 400 in the routes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.serve.settings import MAX_TOKENS_CEILING


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class ImageUrl(_Body):
    url: str


class ContentPart(_Body):
    """A content block: ``{"type": "text", "text"}`` or ``{"type": "image_url", ...}``."""

    type: str
    text: str | None = None
    image_url: ImageUrl | str | None = None


class Message(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class Sampling(_Body):
    """The sampling fields chat and plain completions share."""

    model: str
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_CEILING)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1)
    session_id: str | None = Field(None, max_length=200)  # an extension: keep a prompt cache

    def stops(self) -> list[str]:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return [s for s in stop if s]


class ChatCompletionRequest(Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_CEILING)
    tools: list[Any] | None = None
    logprobs: bool | None = None


class CompletionRequest(Sampling):
    prompt: str | list[str]
    echo: bool = False
    logprobs: int | None = None
    suffix: str | None = None


class EmbeddingRequest(_Body):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)


class PlanBody(_Body):
    models: list[str] = Field(min_length=1)
    cluster: str | None = Field(None, min_length=1, max_length=200)  # plan sharded over it


class BudgetBody(_Body):
    memory_limit: str | int | float | None = None  # "8GB", "512MB", "60%"
    memory_limit_bytes: int | None = Field(None, ge=1)
    max_models: int = Field(ge=1)
