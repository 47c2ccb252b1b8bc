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
from workbench.core.gguf.reader import GGUFHeader
from workbench.core.gguf.spm import build_spm_tokenizer
from workbench.core.gguf.templates import default_template

# llama.cpp token types
CONTROL, USER_DEFINED = 3, 4

# The Llama 3 split pattern (llama.cpp "llama-bpe"), as in Meta's tokenizer.json.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen 2/2.5/3 (llama.cpp "qwen2"): the Llama 3 pattern with single digits.
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPLIT_PATTERNS = {"llama-bpe": LLAMA3_PATTERN, "qwen2": QWEN2_PATTERN}

SUPPORTED_PRE = ("smollm", "gpt2", "llama-bpe", "qwen2")
SENTENCEPIECE = "llama"  # llama.cpp's name for SentencePiece vocabularies


def _pre_tokenizer(pre: str) -> Any:
    from tokenizers import Regex, pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "gpt2":
        return byte_level
    if pre == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    split = pre_tokenizers.Split(Regex(SPLIT_PATTERNS[pre]), behavior="isolated", invert=False)
    return pre_tokenizers.Sequence(
        [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )


def _check_supported(header: GGUFHeader) -> str:
    name = header.path.name
    model = header.string("tokenizer.ggml.model", None)
    if model is None or not header.strings("tokenizer.ggml.tokens"):
        raise GGUFError(f"{name}: the GGUF file has no tokenizer vocabulary")
    if model == SENTENCEPIECE:
        return SENTENCEPIECE
    if model != "gpt2":
        raise GGUFError(
            f"{name}: tokenizer model '{model}' is not supported; only byte-level BPE "
            "('gpt2') and SentencePiece ('llama') vocabularies can be imported"
        )
    pre = header.string("tokenizer.ggml.pre", "gpt2")
    if pre not in SUPPORTED_PRE:
        raise GGUFError(
            f"{name}: pre-tokenizer '{pre}' is not supported (supported: "
            f"{', '.join(SUPPORTED_PRE)})"
        )
    return pre


def _token(tokens: list[str], key: str, header: GGUFHeader) -> str | None:
    index = header.integer(key, None)
    if index is None or not 0 <= index < len(tokens):
        return None
    return tokens[index]


def build_tokenizer(header: GGUFHeader) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to the GGUF vocabulary."""
    from tokenizers import processors

    pre = _check_supported(header)
    tokens: list[str] = header.strings("tokenizer.ggml.tokens") or []
    if pre == SENTENCEPIECE:
        tokenizer = build_spm_tokenizer(header)
    else:
        tokenizer = _byte_level_bpe(header, pre, tokens)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    if vocab_size != len(tokens):
        raise GGUFError(
            f"{header.path.name}: the vocabulary has duplicate tokens "
            f"({len(tokens)} listed, {vocab_size} distinct)"
        )
    bos = _token(tokens, "tokenizer.ggml.bos_token_id", header)
    if header.get("tokenizer.ggml.add_bos_token") is True and bos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokens.index(bos))]
        )
    elif pre != SENTENCEPIECE:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def _merge_pairs(header: GGUFHeader) -> list[tuple[str, str]]:
    pairs = []
    for merge in header.strings("tokenizer.ggml.merges") or []:
        left, space, right = merge.partition(" ")
        if not space or not left or not right:
            raise GGUFError(f"{header.path.name}: malformed BPE merge {str(merge)[:40]!r}")
        pairs.append((left, right))
    return pairs


def _byte_level_bpe(header: GGUFHeader, pre: str, tokens: list[str]) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models

    types = header.numbers("tokenizer.ggml.token_type") or [1] * len(tokens)
    if len(types) != len(tokens):
        raise GGUFError(
            f"{header.path.name}: vocabulary lists disagree in length "
            f"({len(tokens)} tokens, {len(types)} types)"
        )
    vocab = {token: index for index, token in enumerate(tokens)}
    merges = _merge_pairs(header)
    unknown = sorted({part for pair in merges for part in pair if part not in vocab})
    if unknown or any(a + b not in vocab for a, b in merges):
        raise GGUFError(f"{header.path.name}: a BPE merge names tokens not in the vocabulary")
    model = models.BPE(vocab=vocab, merges=merges, ignore_merges=pre == "llama-bpe")
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = _pre_tokenizer(pre)
    tokenizer.decoder = decoders.ByteLevel()
    added = [
        AddedToken(tokens[i], special=t == CONTROL, normalized=False)
        for i, t in enumerate(types)
        if t in (CONTROL, USER_DEFINED)
    ]
    tokenizer.add_tokens(added)
    return tokenizer


def eos_token_ids(header: GGUFHeader) -> list[int]:
    """Every id that ends a reply: EOS plus the end-of-turn tokens some vocabularies add."""
    ids = []
    for key in ("eos_token_id", "eot_token_id", "eom_token_id"):
        value = header.integer(f"tokenizer.ggml.{key}", None, low=0)
        if value is not None and value not in ids:
            ids.append(value)
    tokens = header.strings("tokenizer.ggml.tokens") or []
    if header.get("general.architecture") == "gemma3" and "<end_of_turn>" in tokens:
        turn_end = tokens.index("<end_of_turn>")  # Google's generation_config stops on it too
        if turn_end not in ids:
            ids.append(turn_end)
    return ids


def tokenizer_config(header: GGUFHeader) -> dict[str, Any]:
    """The ``tokenizer_config.json`` contents: special tokens and the chat template."""
    tokens: list[str] = header.strings("tokenizer.ggml.tokens") or []
    arch = header.get("general.architecture")
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": header.get("tokenizer.ggml.add_bos_token") is True,
        "add_eos_token": header.get("tokenizer.ggml.add_eos_token") is True,
        "clean_up_tokenization_spaces": False,
        "model_max_length": header.integer(f"{arch}.context_length", 2048, low=1),
    }
    for role in ("bos", "eos", "unk", "pad"):
        token = _token(tokens, f"tokenizer.ggml.{role}_token_id", header)
        if token is not None:
            config[f"{role}_token"] = token
    template = header.string("tokenizer.chat_template", None) or default_template(header)
    if template:
        config["chat_template"] = template
    return config


def write_tokenizer(header: GGUFHeader, folder: Path) -> None:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``folder``."""
    build_tokenizer(header).save(str(folder / "tokenizer.json"))
    text = json.dumps(tokenizer_config(header), indent=2, ensure_ascii=False)
    (folder / "tokenizer_config.json").write_text(text + "\n", encoding="utf-8")
