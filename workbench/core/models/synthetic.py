"""Random-weight models of real shapes: "how fast would an 8B 4-bit run here?" offline.

Decode speed depends on a model's shape and precision, never on the values of its weights,
so ``synthetic:llama-8b-4bit`` builds an mlx-lm llama of that shape with random weights and
the real tokenizer of the bundled SmolLM2 demo, saves it once in the user cache folder and
is then an ordinary model folder for ``bench``, ``chat`` and the app (the catalog lists the
ones already built).

Spellings::

    synthetic:llama-1b-4bit          a named shape (see ``PRESETS``)
    synthetic:llama-8b-4bit
    synthetic:llama?hidden=2048&layers=16&heads=32&kv_heads=8&bits=4
                                     any llama shape; optional keys: intermediate (default
                                     hidden × 4), head_dim, bits 4 | 8 | 16 | 32 (16 is
                                     float16, 32 float32), group (quantization group size)

The stop tokens' rows of the output layer are zero, so a greedy reply never ends early:
every reply runs to its token limit, which is what a speed measurement wants.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal, TypedDict, TypeGuard, get_args
from urllib.parse import parse_qsl

from workbench.core import paths
from workbench.core.errors import InputError
from workbench.core.types import ModelInfo

PREFIX = "synthetic:"
SPEC_FILE = "mlxbench_synthetic.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
DEMO_TOKENIZER_MODEL = "SmolLM2-135M-Instruct"
VOCAB_SIZE = 49152  # the SmolLM2 tokenizer's
LIMITS = {"hidden": 65536, "layers": 512, "heads": 1024, "intermediate": 262144}


@dataclass(frozen=True)
class SyntheticSpec:
    """The shape of a synthetic llama model."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    bits: int = 4
    head_dim: int | None = None
    group: int = 64
    tied: bool = True
    float32: bool = False  # keep unquantized weights and quantization scales in float32

    @property
    def folder_name(self) -> str:
        head = f"-d{self.head_dim}" if self.head_dim else ""
        tie = "" if self.tied else "-untied"
        f32 = "-f32" if self.float32 and self.bits < 16 else ""
        return (
            f"llama-h{self.hidden}-l{self.layers}-a{self.heads}-kv{self.kv_heads}"
            f"-i{self.intermediate}{head}-b{self.bits}-g{self.group}{tie}{f32}"
        )


PRESETS = {
    # Llama 3.2 1B's shape (with the SmolLM2 vocabulary)
    "llama-1b": SyntheticSpec(2048, 16, 32, 8, 8192, head_dim=64),
    # Llama 3.1 8B's shape (with the SmolLM2 vocabulary)
    "llama-8b": SyntheticSpec(4096, 32, 32, 8, 14336, tied=False),
    # a tiny shape for tests and smoke runs
    "llama-tiny": SyntheticSpec(64, 2, 4, 2, 128, bits=32),
}
_PRESET = re.compile(r"^(?P<name>[a-z0-9-]+?)(?:-(?P<bits>4|8|16|32)bit)?$")
ShapeKey = Literal[
    "hidden", "layers", "heads", "kv_heads", "intermediate", "head_dim", "bits", "group"
]
KEYS = frozenset(get_args(ShapeKey))


class _Shape(TypedDict, total=False):
    """The keys a custom spelling may give (each a positive whole number)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    head_dim: int
    bits: int
    group: int


def _is_shape_key(key: str) -> TypeGuard[ShapeKey]:
    return key in KEYS


def is_synthetic(query: str) -> bool:
    return query.strip().lower().startswith(PREFIX)


def parse_spec(query: str) -> SyntheticSpec:
    """The shape ``synthetic:…`` names; ``InputError`` with the accepted forms otherwise."""
    body = query.strip()[len(PREFIX) :].strip().lower()
    if body.startswith("llama?"):
        return _custom(body[len("llama?") :])
    match = _PRESET.match(body)
    if match is None or match.group("name") not in PRESETS:
        raise InputError(f"unknown synthetic model {query!r}; {usage()}")
    spec = PRESETS[match.group("name")]
    bits = match.group("bits")
    return replace(spec, bits=int(bits)) if bits else spec


def usage() -> str:
    names = ", ".join(f"synthetic:{name}-4bit" for name in PRESETS)
    return f"use {names}, or synthetic:llama?hidden=H&layers=L&heads=A&kv_heads=K&bits=B"


def _custom(query: str) -> SyntheticSpec:
    values: _Shape = {}
    for key, text in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if not _is_shape_key(key):
            raise InputError(f"unknown synthetic key {key!r}; keys: {', '.join(sorted(KEYS))}")
        if not text.isdigit() or int(text) <= 0:
            raise InputError(f"synthetic {key} must be a positive whole number (got {text!r})")
        values[key] = int(text)
    missing = [k for k in ("hidden", "layers", "heads") if k not in values]
    if missing:
        raise InputError(f"synthetic model needs {', '.join(missing)}; {usage()}")
    values.setdefault("kv_heads", values["heads"])
    values.setdefault("intermediate", values["hidden"] * 4)
    spec = SyntheticSpec(**values)
    _check(spec)
    return spec


def _check(spec: SyntheticSpec) -> None:
    for key, limit in LIMITS.items():
        if getattr(spec, key) > limit:
            raise InputError(f"synthetic {key} must be at most {limit}")
    if spec.bits not in (4, 8, 16, 32):
        raise InputError(f"synthetic bits must be 4, 8, 16 or 32 (got {spec.bits})")
    if spec.heads % spec.kv_heads:
        raise InputError("synthetic heads must be a multiple of kv_heads")
    head_dim = spec.head_dim or spec.hidden // spec.heads
    if spec.head_dim is None and spec.hidden % spec.heads:
        raise InputError("synthetic hidden must be a multiple of heads (or give head_dim)")
    if head_dim % 2:
        raise InputError("synthetic head dimension must be even")
    if spec.bits < 16 and (spec.hidden % spec.group or spec.intermediate % spec.group):
        raise InputError(f"synthetic hidden and intermediate must be multiples of {spec.group}")


def cache_root() -> Path:
    """Where synthetic models are kept (the user cache folder)."""
    return paths.cache_dir() / "synthetic"


def model_config(spec: SyntheticSpec) -> dict[str, object]:
    """The mlx-lm ``config.json`` of ``spec`` (no quantization entry)."""
    config: dict[str, object] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": spec.hidden,
        "intermediate_size": spec.intermediate,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "num_key_value_heads": spec.kv_heads,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "max_position_embeddings": 8192,
        "vocab_size": VOCAB_SIZE,
        "tie_word_embeddings": spec.tied,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if spec.head_dim:
        config["head_dim"] = spec.head_dim
    return config


def info_for(folder: Path, query: str) -> ModelInfo:
    """The catalog entry of a built synthetic model folder."""
    from workbench.core.models.folder import describe_folder

    name = query.strip()
    info = describe_folder(folder, model_id=name, name=name, source="synthetic")
    return replace(info, id=name, name=name)


def synthetic_models() -> list[ModelInfo]:
    """The synthetic models already built (no MLX import: reads their small files)."""
    root = cache_root()
    found = []
    for folder in sorted(root.glob("llama-*")) if root.is_dir() else []:
        try:
            query = json.loads((folder / SPEC_FILE).read_text())["query"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append(info_for(folder, query))
    return found


def ensure_synthetic(query: str, say: Callable[[str], None] = lambda _message: None) -> ModelInfo:
    """The model ``query`` names, built (once) into the cache folder if it is not there."""
    from workbench.core.pool.device import has_gpu_build

    spec = parse_spec(query)
    if spec.bits < 16 and not has_gpu_build():
        spec = replace(spec, float32=True)  # CPU: half-precision scales run ~35× slower
    name = f"{PREFIX}{query.strip()[len(PREFIX) :].strip().lower()}"
    folder = cache_root() / spec.folder_name
    if not (folder / SPEC_FILE).is_file():
        say(f"building {name} with random weights (once; cached in {cache_root()})…")
        _build_into(folder, spec, name)
    return info_for(folder, name)


def _build_into(folder: Path, spec: SyntheticSpec, name: str) -> None:
    tokenizer = tokenizer_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
    try:
        from workbench.core.models.synthetic_build import write_weights

        for file in TOKENIZER_FILES:
            if (tokenizer / file).is_file():
                shutil.copy2(tokenizer / file, work / file)
        config = write_weights(work, spec, model_config(spec), stop_ids(tokenizer))
        (work / "config.json").write_text(json.dumps(config, indent=2))
        record = {"query": name, "spec": asdict(spec)}
        (work / SPEC_FILE).write_text(json.dumps(record, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tokenizer_dir() -> Path:
    """A folder with the SmolLM2 tokenizer files: kept in the cache, else from the demo."""
    kept = cache_root() / "tokenizer"
    if (kept / "tokenizer.json").is_file():
        return kept
    from workbench.core.gguf.importer import ensure_imported
    from workbench.core.models.demo import installed_demo_models

    source = installed_demo_models().get(DEMO_TOKENIZER_MODEL)
    if source is None:
        raise InputError(
            "synthetic models take the SmolLM2 demo's tokenizer: run `mlxbench demo install`"
        )
    folder = ensure_imported(source) if source.suffix.lower() == ".gguf" else source
    kept.mkdir(parents=True, exist_ok=True)
    for file in TOKENIZER_FILES:
        if (folder / file).is_file():
            shutil.copy2(folder / file, kept / file)
    return kept


def stop_ids(tokenizer: Path) -> list[int]:
    """Token ids that end a reply (eos and the chat template's end-of-turn markers)."""
    data = json.loads((tokenizer / "tokenizer.json").read_text())
    names = {"<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>", "<|end_of_text|>"}
    ids = {token["id"] for token in data.get("added_tokens", []) if token["content"] in names}
    return sorted(ids | {2})
