"""Rebuild a Hugging Face tokenizer from the vocabulary stored in a GGUF file.

GGUF files carry the tokenizer as raw lists (tokens, merges, token types) plus the name of
llama.cpp's pre-tokenizer. mlx-lm needs ``tokenizer.json`` + ``tokenizer_config.json``. The
``tokenizers`` library builds the BPE model; what this module adds is the mapping from
llama.cpp's pre-tokenizer names to the equivalent Hugging Face pre-tokenizers, and a clear
refusal for vocabularies it cannot reproduce faithfully (a wrong pre-tokenizer gives a model
that runs but answers badly, which is worse than an error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.core.errors import GGUFError
from workbench.core.gguf_reader import GGUFHeader

# llama.cpp token types
CONTROL, USER_DEFINED = 3, 4

# The Llama 3 split pattern (llama.cpp "llama-bpe"), as in Meta's tokenizer.json.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SUPPORTED_PRE = ("smollm", "gpt2", "llama-bpe")


def _pre_tokenizer(pre: str) -> Any:
    from tokenizers import Regex, pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "gpt2":
        return byte_level
    if pre == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    split = pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False)
    return pre_tokenizers.Sequence(
        [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )


def _check_supported(header: GGUFHeader) -> str:
    name = header.path.name
    model = header.get("tokenizer.ggml.model")
    if model is None or "tokenizer.ggml.tokens" not in header.metadata:
        raise GGUFError(f"{name}: the GGUF file has no tokenizer vocabulary")
    if model != "gpt2":
        raise GGUFError(
            f"{name}: tokenizer model '{model}' is not supported; only byte-level BPE "
            "('gpt2') vocabularies can be imported"
        )
    pre = header.get("tokenizer.ggml.pre", "gpt2")
    if pre not in SUPPORTED_PRE:
        raise GGUFError(
            f"{name}: pre-tokenizer '{pre}' is not supported (supported: "
            f"{', '.join(SUPPORTED_PRE)})"
        )
    return pre


def _token(tokens: list[str], key: str, header: GGUFHeader) -> str | None:
    index = header.get(key)
    if index is None or not 0 <= int(index) < len(tokens):
        return None
    return tokens[int(index)]


def build_tokenizer(header: GGUFHeader) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to the GGUF vocabulary."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    pre = _check_supported(header)
    tokens: list[str] = header.get("tokenizer.ggml.tokens")
    types: list[int] = header.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    merges = [tuple(m.split(" ", 1)) for m in header.get("tokenizer.ggml.merges") or []]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=pre == "llama-bpe"))
    tokenizer.pre_tokenizer = _pre_tokenizer(pre)
    tokenizer.decoder = decoders.ByteLevel()
    added = [
        AddedToken(tokens[i], special=t == CONTROL, normalized=False)
        for i, t in enumerate(types)
        if t in (CONTROL, USER_DEFINED)
    ]
    tokenizer.add_tokens(added)
    bos = _token(tokens, "tokenizer.ggml.bos_token_id", header)
    if header.get("tokenizer.ggml.add_bos_token", False) and bos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, vocab[bos])]
        )
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def eos_token_ids(header: GGUFHeader) -> list[int]:
    """Every id that ends a reply: EOS plus the end-of-turn tokens some vocabularies add."""
    ids = []
    for key in ("eos_token_id", "eot_token_id", "eom_token_id"):
        value = header.get(f"tokenizer.ggml.{key}")
        if value is not None and int(value) not in ids:
            ids.append(int(value))
    return ids


def tokenizer_config(header: GGUFHeader) -> dict[str, Any]:
    """The ``tokenizer_config.json`` contents: special tokens and the chat template."""
    tokens: list[str] = header.get("tokenizer.ggml.tokens")
    arch = header.get("general.architecture")
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": bool(header.get("tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(header.get("tokenizer.ggml.add_eos_token", False)),
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(header.get(f"{arch}.context_length", 2048)),
    }
    for role in ("bos", "eos", "unk", "pad"):
        token = _token(tokens, f"tokenizer.ggml.{role}_token_id", header)
        if token is not None:
            config[f"{role}_token"] = token
    template = header.get("tokenizer.chat_template")
    if template:
        config["chat_template"] = template
    return config


def write_tokenizer(header: GGUFHeader, folder: Path) -> None:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``folder``."""
    build_tokenizer(header).save(str(folder / "tokenizer.json"))
    text = json.dumps(tokenizer_config(header), indent=2, ensure_ascii=False)
    (folder / "tokenizer_config.json").write_text(text + "\n", encoding="utf-8")
