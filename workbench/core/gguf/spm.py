"""SentencePiece vocabularies in GGUF files (llama.cpp's "llama" tokenizer model) as BPE.

Gemma, Llama 2 and Mistral GGUF files carry a SentencePiece vocabulary as three parallel lists:
pieces, scores and token types. llama.cpp tokenizes them by merging adjacent pieces in order
of the merged piece's score. The ``tokenizers`` library reproduces this with a BPE model whose
merges are every split of every piece into two pieces of the vocabulary, ranked by the score of
the whole piece, plus byte fallback for characters the vocabulary lacks. (A Unigram model over
the same scores tokenizes differently: Gemma's pieces are BPE-trained.)
"""

from __future__ import annotations

from typing import Any

from workbench.core.errors import GGUFError
from workbench.core.gguf.reader import GGUFHeader

# llama.cpp token types
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPACE = "\u2581"  # SentencePiece's visible space


def merges_by_score(
    tokens: list[str], scores: list[float], types: list[int]
) -> list[tuple[str, str]]:
    """Every (left, right) split of a normal piece into two known pieces, best score first."""
    vocab = {token: index for index, token in enumerate(tokens)}
    ranked: list[tuple[float, int, int, int, str, str]] = []
    for index, token in enumerate(tokens):
        if types[index] not in (NORMAL, USER_DEFINED):
            continue
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            left_id, right_id = vocab.get(left), vocab.get(right)
            if left_id is not None and right_id is not None:
                ranked.append((-scores[index], index, left_id, right_id, left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def _check(header: GGUFHeader) -> tuple[list[str], list[float], list[int]]:
    tokens = header.strings("tokenizer.ggml.tokens") or []
    scores = header.numbers("tokenizer.ggml.scores")
    types = header.numbers("tokenizer.ggml.token_type") or [NORMAL] * len(tokens)
    if scores is None:
        raise GGUFError(f"{header.path.name}: SentencePiece vocabulary without piece scores")
    if not (len(tokens) == len(scores) == len(types)):
        raise GGUFError(
            f"{header.path.name}: vocabulary lists disagree in length "
            f"({len(tokens)} tokens, {len(scores)} scores, {len(types)} types)"
        )
    return tokens, [float(s) for s in scores], [int(t) for t in types]


def _unk_token(tokens: list[str], types: list[int], header: GGUFHeader) -> str | None:
    index = header.integer("tokenizer.ggml.unknown_token_id", None)
    if index is not None and 0 <= index < len(tokens):
        return tokens[index]
    return next((tokens[i] for i, kind in enumerate(types) if kind == UNKNOWN), None)


def build_spm_tokenizer(header: GGUFHeader) -> Any:
    """A ``tokenizers.Tokenizer`` that splits text like llama.cpp splits this vocabulary."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers

    tokens, scores, types = _check(header)
    vocab = {token: index for index, token in enumerate(tokens)}
    model = models.BPE(
        vocab=vocab,
        merges=merges_by_score(tokens, scores, types),
        unk_token=_unk_token(tokens, types, header),
        byte_fallback=True,
        fuse_unk=True,
    )
    tokenizer = Tokenizer(model)
    space_prefix = header.get("tokenizer.ggml.add_space_prefix", True) is not False
    steps = [normalizers.Prepend(SPACE)] if space_prefix else []
    tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", SPACE)])
    decode = [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if space_prefix:
        decode.append(decoders.Strip(" ", 1, 0))
    tokenizer.decoder = decoders.Sequence(decode)
    tokenizer.add_tokens(
        [
            AddedToken(tokens[i], special=kind == CONTROL, normalized=False)
            for i, kind in enumerate(types)
            if kind in (CONTROL, USER_DEFINED)
        ]
    )
    return tokenizer
