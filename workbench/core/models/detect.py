"""Decide what a model is (text / vision / embeddings), its family and its quantization.

The kind picks the engine that loads a model and the family picks stop tokens and chat
template quirks, so a wrong guess shows up as a load failure or a reply that never stops.
The evidence is read in order of trust: ``config.json`` first, then the folder's files
(sentence-transformers markers), then the model's name, then a plain default. The user can
override kind and family per model in ``config.toml`` (``[models."<id or name>"]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from workbench.core.config import ModelOverride
from workbench.core.errors import InputError
from workbench.core.types import Family, ModelKind

# model_type values that are always vision-language models. Types that exist both with and
# without a vision tower (gemma3, mistral3, llama4) are vision only when the config carries a
# ``vision_config``, which is checked separately.
VISION_MODEL_TYPES = frozenset(
    {
        "llava",
        "llava_next",
        "llava_onevision",
        "llava-qwen2",
        "llava_qwen2",
        "qwen2_vl",
        "qwen2_5_vl",
        "qwen3_vl",
        "qwen3_vl_moe",
        "idefics2",
        "idefics3",
        "smolvlm",
        "paligemma",
        "mllama",
        "pixtral",
        "florence2",
        "molmo",
        "phi3_v",
        "deepseek_vl_v2",
        "internvl_chat",
        "kimi_vl",
        "aya_vision",
    }
)
VISION_CONFIG_KEYS = ("vision_config", "image_token_id", "image_token_index")

EMBEDDING_MODEL_TYPES = frozenset(
    {"bert", "xlm-roberta", "xlm_roberta", "modernbert", "nomic_bert", "roberta", "distilbert"}
)
EMBEDDING_ARCHITECTURES = frozenset(
    {
        "BertModel",
        "XLMRobertaModel",
        "ModernBertModel",
        "NomicBertModel",
        "RobertaModel",
        "DistilBertModel",
    }
)
SENTENCE_TRANSFORMERS_FILES = frozenset(
    {"modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"}
)

_VISION_NAME = re.compile(
    r"(^|[-_./ ])vl([-_./ ]|$)|vision|llava|vlm|pixtral|paligemma|idefics|florence|moondream",
    re.IGNORECASE,
)
_EMBEDDING_NAME = re.compile(
    r"embed|minilm|(^|[-_./ ])bge([-_./ ]|$)|(^|[-_./ ])e5-|mpnet|sentence-t5|gte-",
    re.IGNORECASE,
)

# (pattern over model_type or name, family); first match wins, so "mixtral" is checked
# before nothing else claims it and "paligemma" lands in gemma.
_FAMILY_PATTERNS: tuple[tuple[re.Pattern[str], Family], ...] = (
    (re.compile(r"qwen", re.IGNORECASE), Family.QWEN),
    (re.compile(r"gemma", re.IGNORECASE), Family.GEMMA),
    (re.compile(r"mistral|mixtral|pixtral|ministral|codestral", re.IGNORECASE), Family.MISTRAL),
    (re.compile(r"llama|smollm", re.IGNORECASE), Family.LLAMA),
)

_GGUF_QUANT = re.compile(
    r"(?:^|[-_. ])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32)(?=$|[-. ]|\.gguf)", re.IGNORECASE
)
_NAME_BITS = re.compile(r"(?:^|[-_. ])(\d{1,2})-?bit(?=$|[-_. ])", re.IGNORECASE)


def _model_type(config: Mapping[str, object] | None) -> str:
    value = (config or {}).get("model_type")
    return value.lower() if isinstance(value, str) else ""


def _architectures(config: Mapping[str, object] | None) -> list[str]:
    value = (config or {}).get("architectures")
    return [a for a in value if isinstance(a, str)] if isinstance(value, list) else []


def _kind_from_config(config: Mapping[str, object] | None) -> ModelKind | None:
    if not config:
        return None
    if any(config.get(key) is not None for key in VISION_CONFIG_KEYS):
        return ModelKind.VISION
    if _model_type(config) in VISION_MODEL_TYPES:
        return ModelKind.VISION
    if _model_type(config) in EMBEDDING_MODEL_TYPES:
        return ModelKind.EMBEDDINGS
    if EMBEDDING_ARCHITECTURES.intersection(_architectures(config)):
        return ModelKind.EMBEDDINGS
    return None


def detect_kind(
    config: Mapping[str, object] | None, name: str, files: Iterable[str] = ()
) -> ModelKind:
    """The model's kind from its config, then its folder's files, then its name; else TEXT.

    ``files`` are the names of the files in the model folder (optional): a
    sentence-transformers marker such as ``modules.json`` means an embeddings model.
    """
    from_config = _kind_from_config(config)
    if from_config is not None:
        return from_config
    if SENTENCE_TRANSFORMERS_FILES.intersection(files):
        return ModelKind.EMBEDDINGS
    if _VISION_NAME.search(name):
        return ModelKind.VISION
    if _EMBEDDING_NAME.search(name):
        return ModelKind.EMBEDDINGS
    return ModelKind.TEXT


def _family_of(text: str) -> Family | None:
    for pattern, family in _FAMILY_PATTERNS:
        if pattern.search(text):
            return family
    return None


def detect_family(config: Mapping[str, object] | None, name: str) -> Family:
    """The model's family from its ``model_type`` (or its text model's), else from its name.

    When the config names a model type we do not know (``phi3``, ``bert``...), the answer is
    OTHER even if the name mentions a known family: the config is the stronger evidence.
    """
    config = config or {}
    text_config = config.get("text_config")
    candidates = [_model_type(config), *(_architectures(config))]
    if isinstance(text_config, Mapping):
        candidates.append(_model_type(text_config))
    for candidate in candidates:
        family = _family_of(candidate) if candidate else None
        if family is not None:
            return family
    if any(candidates):
        return Family.OTHER
    return _family_of(name) or Family.OTHER


def _bits_label(table: Mapping[str, object]) -> str | None:
    bits = table.get("bits")
    if isinstance(bits, int | float) and not isinstance(bits, bool) and bits > 0:
        return f"{int(bits)}bit"
    if table.get("load_in_4bit"):
        return "4bit"
    if table.get("load_in_8bit"):
        return "8bit"
    method = table.get("quant_method")
    return method if isinstance(method, str) and method else None


def detect_quantization(config: Mapping[str, object] | None, name: str) -> str | None:
    """A short quantization label: "4bit" from config.json, "Q4_1" from a GGUF name, or None."""
    for key in ("quantization", "quantization_config"):
        table = (config or {}).get(key)
        if isinstance(table, Mapping):
            label = _bits_label(table)
            if label:
                return label
    match = _GGUF_QUANT.search(name)
    if match:
        return match.group(1).upper()
    match = _NAME_BITS.search(name)
    return f"{int(match.group(1))}bit" if match else None


def check_override(key: str, override: ModelOverride) -> None:
    """Raise ``InputError`` naming ``key`` when an override's kind or family is not valid."""
    if override.kind is not None and override.kind not in set(ModelKind):
        choices = ", ".join(k.value for k in ModelKind)
        raise InputError(
            f"config [models.{key!r}]: kind must be one of {choices}, got {override.kind!r}"
        )
    if override.family is not None and override.family not in set(Family):
        choices = ", ".join(f.value for f in Family)
        raise InputError(
            f"config [models.{key!r}]: family must be one of {choices}, got {override.family!r}"
        )


def apply_override(
    kind: ModelKind, family: Family, key: str, override: ModelOverride
) -> tuple[ModelKind, Family]:
    """The (kind, family) after a user override; invalid values raise ``InputError``."""
    check_override(key, override)
    new_kind = ModelKind(override.kind) if override.kind is not None else kind
    new_family = Family(override.family) if override.family is not None else family
    return new_kind, new_family
