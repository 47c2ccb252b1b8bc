"""The family-independent half of chat formatting: templates, system folding, stop tokens.

Every model ships its own chat template and end-of-turn tokens, and they disagree in small
ways that break chats silently: a template that rejects a system role, a llama-family model
that ends turns with ChatML's ``<|im_end|>``, a tokenizer with no template at all. A
``ChatAdapter`` turns our ``ChatMessage`` list into prompt token ids and names the token ids
that end a reply. The per-family modules only fill in the differences. Nothing here imports
MLX: the tokenizer is duck-typed (an HF tokenizer or mlx-lm's ``TokenizerWrapper``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.core.errors import InputError, one_line
from workbench.core.types import ChatMessage, Family

ROLES = ("system", "user", "assistant")

# End-of-turn markers: when a chat template writes one of these after each turn, the model
# learned to emit it at the end of a reply, whatever its family or configured EOS says.
TURN_END_MARKERS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


class ChatTokenizer(Protocol):
    """The slice of a Hugging Face tokenizer the adapters use."""

    eos_token_id: int | None

    def get_vocab(self) -> dict[str, int]: ...

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ChatAdapter:
    """How one model family is prompted and how its replies end.

    ``stop_tokens`` are the family's end markers, used only when the vocabulary has them.
    ``system_role`` False means the family's templates have no system role: the system
    message is always folded into the first user turn. When True, the template is still
    checked and the message folded if the template rejects or drops it.
    """

    family: Family
    stop_tokens: tuple[str, ...] = ()
    system_role: bool = True

    def stop_token_ids(self, tokenizer: ChatTokenizer) -> frozenset[int]:
        """The tokenizer's EOS ids plus every known end marker present in the vocabulary."""
        ids = _as_id_set(getattr(tokenizer, "eos_token_ids", None))
        if tokenizer.eos_token_id is not None:
            ids.add(int(tokenizer.eos_token_id))
        vocab = tokenizer.get_vocab()
        template = template_text(tokenizer)
        names = list(self.stop_tokens)
        names += [marker for marker in TURN_END_MARKERS if marker in template]
        ids.update(vocab[name] for name in names if name in vocab)
        return frozenset(ids)

    def prompt_text(self, tokenizer: ChatTokenizer, messages: Sequence[ChatMessage]) -> str:
        """The conversation rendered as the model expects it, ready for the reply."""
        dicts = to_dicts(messages)
        if not template_text(tokenizer):
            return plain_prompt(dicts)
        if not self.system_role:
            return _render(tokenizer, fold_system(dicts))
        try:
            text = _render(tokenizer, dicts)
        except Exception:  # templates signal unsupported roles with arbitrary errors
            return _render(tokenizer, fold_system(dicts))
        if _system_dropped(dicts, text):
            return _render(tokenizer, fold_system(dicts))
        return text

    def prompt_tokens(self, tokenizer: ChatTokenizer, messages: Sequence[ChatMessage]) -> list[int]:
        """Token ids of :meth:`prompt_text`.

        Templates write their own BOS, so special tokens are not added again — except for
        the plain fallback, which has no BOS of its own.
        """
        text = self.prompt_text(tokenizer, messages)
        add_special = not template_text(tokenizer)
        return list(tokenizer.encode(text, add_special_tokens=add_special))


def template_text(tokenizer: Any) -> str:
    """The tokenizer's chat template source, or "" when it has none."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # named templates: use the default one
        template = template.get("default") or next(iter(template.values()), None)
    return template if isinstance(template, str) else ""


def to_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Validate the conversation and convert it to the dicts templates consume."""
    if not messages:
        raise InputError("the conversation is empty: write a message first")
    for message in messages:
        if message.role not in ROLES:
            raise InputError(f"unknown chat role {message.role!r} (use system, user, assistant)")
    if all(message.role == "system" for message in messages):
        raise InputError("the conversation has no user message")
    return [{"role": message.role, "content": message.content} for message in messages]


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Move system text into the first user turn and merge same-role neighbours.

    Strict templates (Mistral v1/v2, Gemma) also demand user/assistant alternation, so
    consecutive turns of one role are joined rather than rejected.
    """
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system:
        if rest and rest[0]["role"] == "user":
            rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
        else:
            rest.insert(0, {"role": "user", "content": system})
    merged: list[dict[str, str]] = []
    for message in rest:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"] += "\n\n" + message["content"]
        else:
            merged.append(message)
    return merged


def plain_prompt(messages: list[dict[str, str]]) -> str:
    """A neutral transcript format for tokenizers that ship no chat template."""
    lines = []
    for message in messages:
        if message["role"] == "system":
            lines.append(message["content"])
        else:
            lines.append(f"{message['role'].capitalize()}: {message['content']}")
    lines.append("Assistant:")
    return "\n\n".join(lines)


def _render(tokenizer: ChatTokenizer, messages: list[dict[str, str]]) -> str:
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:
        reason = one_line(exc)
        raise InputError(f"the model's chat template rejected the conversation: {reason}") from exc
    return str(text)


def _system_dropped(messages: list[dict[str, str]], text: str) -> bool:
    return any(m["role"] == "system" and m["content"].strip() not in text for m in messages)


def _as_id_set(value: object) -> set[int]:
    """Token ids from an attribute that is an int on some tokenizers and a list on others."""
    if value is None:
        return set()
    if isinstance(value, int):
        return {value}
    return {int(v) for v in value}  # type: ignore[union-attr]
