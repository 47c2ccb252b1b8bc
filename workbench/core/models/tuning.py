"""Base or instruct: does a model continue text, or answer a chat? Only where it says so.

A base (pretrained) model given a chat template answers nonsense, and an instruct model
given raw text rambles, so the app offers raw completion for base models and chat for the
others. The evidence, in order of trust:

1. words in the model's own name or, for a GGUF, its ``general.finetune`` / ``general.name``
   metadata: ``-Instruct``, ``-it``, ``-Chat`` (instruct) or ``-base``, ``-pt`` (base);
2. a chat template: present in ``tokenizer_config.json``, ``chat_template.jinja`` or a
   GGUF's ``tokenizer.chat_template`` means instruct; a tokenizer read and found without
   one means base.

Nothing found is ``UNKNOWN`` (""): the app then treats the model as a chat model, as before.
The GGUF scan reads metadata only, skipping arrays (a 262k-token vocabulary) by length.
"""

from __future__ import annotations

import json
import mmap
import re
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

BASE, INSTRUCT, UNKNOWN = "base", "instruct", ""

_EDGE = r"(?:^|[-_. /])"
_END = r"(?=$|[-_. /])"
_INSTRUCT_WORDS = re.compile(rf"{_EDGE}(instruct|it|chat|sft|dpo|rlhf|orpo){_END}", re.I)
_BASE_WORDS = re.compile(rf"{_EDGE}(base|pt|pretrain|pretrained){_END}", re.I)
TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")

# GGUF metadata value types: fixed sizes of scalars; 8 = string, 9 = array
_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
_WANTED_KEYS = ("general.name", "general.finetune", "general.basename", "general.type")
MAX_KEYS = 100_000


def from_words(texts: Iterable[str]) -> str:
    """INSTRUCT or BASE when a name says so (instruct words win), else UNKNOWN."""
    texts = [t for t in texts if t]
    if any(_INSTRUCT_WORDS.search(t) for t in texts):
        return INSTRUCT
    if any(_BASE_WORDS.search(t) for t in texts):
        return BASE
    return UNKNOWN


def detect_tuning(names: Iterable[str], chat_template: bool | None) -> str:
    """The model's tuning from its names, then from whether it ships a chat template.

    ``chat_template`` is None when nothing could be read to tell (no tokenizer config).
    """
    by_name = from_words(names)
    if by_name:
        return by_name
    if chat_template is None:
        return UNKNOWN
    return INSTRUCT if chat_template else BASE


def folder_chat_template(folder: Path, names: Iterable[str]) -> bool | None:
    """Whether a model folder ships a chat template (None: no tokenizer config to tell)."""
    names = set(names)
    if names.intersection(TEMPLATE_FILES):
        return True
    if "tokenizer_config.json" not in names:
        return None
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return isinstance(config, dict) and bool(config.get("chat_template"))


def folder_tuning(folder: Path, name: str, names: Iterable[str]) -> str:
    """The tuning of an MLX / Hugging Face model folder."""
    return detect_tuning((name, folder.name), folder_chat_template(folder, names))


def gguf_tuning(path: Path, name: str) -> str:
    """The tuning of a GGUF file: its name and metadata words, then its chat template."""
    facts = gguf_facts(path)
    if facts is None:
        return detect_tuning((name, path.stem), None)
    words, template = facts
    return detect_tuning((name, path.stem, *words.values()), template)


def gguf_facts(path: Path) -> tuple[dict[str, str], bool] | None:
    """``general.*`` naming keys and whether ``tokenizer.chat_template`` is set; None
    when the file cannot be read as GGUF (the catalog reports that elsewhere)."""
    try:
        with path.open("rb") as handle, _mapped(handle) as buf:
            return _scan(buf)
    except (OSError, ValueError, struct.error, UnicodeDecodeError):
        return None


def _mapped(handle: BinaryIO) -> mmap.mmap:
    return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _scan(buf: mmap.mmap) -> tuple[dict[str, str], bool] | None:
    if buf[:4] != b"GGUF" or struct.unpack_from("<I", buf, 4)[0] not in (2, 3):
        return None
    (count,) = struct.unpack_from("<Q", buf, 16)
    pos, words, template = 24, {}, False
    for _ in range(min(count, MAX_KEYS)):
        key, pos = _string(buf, pos)
        (kind,), pos = struct.unpack_from("<I", buf, pos), pos + 4
        if kind == _STRING and (key in _WANTED_KEYS or key == "tokenizer.chat_template"):
            value, pos = _string(buf, pos)
            if key == "tokenizer.chat_template":
                template = bool(value.strip())
            else:
                words[key] = value
            continue
        pos = _skip(buf, pos, kind)
    return words, template


def _string(buf: mmap.mmap, pos: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<Q", buf, pos)
    end = pos + 8 + length
    if end > len(buf):
        raise ValueError("truncated")
    return bytes(buf[pos + 8 : end]).decode("utf-8"), end


def _skip(buf: mmap.mmap, pos: int, kind: int) -> int:
    if kind in _SIZES:
        return pos + _SIZES[kind]
    length: int
    if kind == _STRING:
        (length,) = struct.unpack_from("<Q", buf, pos)
        return pos + 8 + length
    if kind != _ARRAY:
        raise ValueError(f"unknown GGUF value type {kind}")
    item: int
    count: int
    item, count = struct.unpack_from("<IQ", buf, pos)
    pos += 12
    if item in _SIZES:
        return pos + count * _SIZES[item]
    if item != _STRING or count > len(buf):
        raise ValueError("unsupported GGUF array")
    for _ in range(count):
        pos += 8 + struct.unpack_from("<Q", buf, pos)[0]
    return pos
