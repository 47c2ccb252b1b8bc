"""A tiny LLaVA vision-language model with random weights, built on the spot.

No real vision model can be downloaded where the tests run, yet the vision engine must be
exercised end to end through mlx-vlm: load, processor, chat template, image tokens,
streaming. This builds the smallest model mlx-vlm accepts as ``model_type: llava`` — a
2-layer CLIP vision tower on 32 px images, a 2-layer llama text model — with weights drawn
from a fixed seed (so every build is identical) and SmolLM2's real tokenizer plus an added
``<image>`` token. It says nothing sensible; it streams real tokens through real code.

``build_tiny_llava(dest, tokenizer_from)`` writes the folder; ``tiny_vlm_dir`` in
``tests/real/conftest.py`` builds it once per test session.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_TOKEN = "<image>"
IMAGE_SIZE = 32
PATCH_SIZE = 8
# CLIP keeps a CLS embedding in front of the patches; the "default" feature strategy drops it.
IMAGE_TOKENS_PER_IMAGE = (IMAGE_SIZE // PATCH_SIZE) ** 2
SEED = 1234

# Accepts plain string content and mlx-vlm's list content ({"type": "image"|"text"}).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def build_tiny_llava(dest: Path, tokenizer_from: Path | None = None) -> Path:
    """Write a tiny random-weight LLaVA model folder at ``dest`` and return it.

    ``tokenizer_from`` is a folder holding SmolLM2's ``tokenizer.json`` and
    ``tokenizer_config.json`` (e.g. the imported demo model, ``smollm2_dir``); without it,
    the tokenizer is rebuilt from the bundled SmolLM2 GGUF's header (no weights are read).
    ``dest`` must not exist yet or be empty. Building takes a second or two.
    """
    if tokenizer_from is None:
        tokenizer_from = smollm2_tokenizer(dest.parent / f".{dest.name}-tokenizer")
    dest.mkdir(parents=True, exist_ok=True)
    image_token_id, eos_id = _write_tokenizer(tokenizer_from, dest)
    config = _config(vocab_size=image_token_id + 1, image_token_id=image_token_id, eos=eos_id)
    _write_json(dest / "config.json", config)
    _write_json(dest / "preprocessor_config.json", _preprocessor_config())
    _write_json(dest / "processor_config.json", _processor_config())
    _write_weights(config, dest / "model.safetensors")
    return dest


def smollm2_tokenizer(folder: Path) -> Path:
    """SmolLM2's tokenizer files written to ``folder`` from the bundled demo GGUF."""
    from workbench.core.gguf.reader import read_header
    from workbench.core.gguf.tokenizer import write_tokenizer
    from workbench.core.models.demo import installed_demo_models

    gguf = installed_demo_models().get("SmolLM2-135M-Instruct")
    if gguf is None:
        raise FileNotFoundError("demo model SmolLM2 is not installed: run `mlxbench demo install`")
    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(read_header(gguf), folder)
    return folder


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _write_tokenizer(source: Path, dest: Path) -> tuple[int, int]:
    """SmolLM2's tokenizer + ``<image>``; returns (image token id, end-of-turn id)."""
    from tokenizers import AddedToken, Tokenizer

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.add_special_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)])
    tokenizer.save(str(dest / "tokenizer.json"))
    settings = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    settings["chat_template"] = CHAT_TEMPLATE
    settings["pad_token"] = settings.get("eos_token")
    _write_json(dest / "tokenizer_config.json", settings)
    image_id = tokenizer.token_to_id(IMAGE_TOKEN)
    eos_id = tokenizer.token_to_id(settings["eos_token"])
    if image_id is None or eos_id is None:
        raise ValueError(f"tokenizer in {source} lacks {IMAGE_TOKEN} or its end-of-turn token")
    if (source / "generation_config.json").is_file():
        shutil.copyfile(source / "generation_config.json", dest / "generation_config.json")
    return image_id, eos_id


def _config(vocab_size: int, image_token_id: int, eos: int) -> dict[str, Any]:
    return {
        "model_type": "llava",
        "architectures": ["LlavaForConditionalGeneration"],
        "image_token_index": image_token_id,
        "vision_feature_select_strategy": "default",
        "vision_feature_layer": -2,
        "vocab_size": vocab_size,
        "eos_token_id": [eos],
        "torch_dtype": "float32",
        "text_config": {
            "model_type": "llama",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "rms_norm_eps": 1e-5,
            "vocab_size": vocab_size,
            "rope_theta": 10000.0,
            "max_position_embeddings": 2048,
            "tie_word_embeddings": False,
        },
        "vision_config": {
            "model_type": "clip_vision_model",
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_attention_heads": 2,
            "image_size": IMAGE_SIZE,
            "patch_size": PATCH_SIZE,
            "projection_dim": 32,
            "layer_norm_eps": 1e-5,
        },
    }


def _preprocessor_config() -> dict[str, Any]:
    return {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": IMAGE_SIZE},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": CLIP_MEAN,
        "image_std": CLIP_STD,
        "do_convert_rgb": True,
    }


def _processor_config() -> dict[str, Any]:
    return {
        "processor_class": "LlavaProcessor",
        "patch_size": PATCH_SIZE,
        "vision_feature_select_strategy": "default",
        "image_token": IMAGE_TOKEN,
        "num_additional_image_tokens": 1,
    }


def _write_weights(config: dict[str, Any], path: Path) -> None:
    """Random weights with the exact names and shapes of mlx-vlm's LLaVA modules.

    Names and shapes are read from mlx-vlm's own model class, so the file loads with
    ``strict=True``; values come from numpy with a fixed seed. Norm scales are 1 and biases
    0, as a freshly initialised network would have them.
    """
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_vlm.models import llava

    model_config = llava.ModelConfig.from_dict(config)
    model_config.text_config = llava.TextConfig.from_dict(config["text_config"])
    model_config.vision_config = llava.VisionConfig.from_dict(config["vision_config"])
    shapes = {
        name: tuple(p.shape) for name, p in tree_flatten(llava.Model(model_config).parameters())
    }
    rng = np.random.default_rng(SEED)
    weights = {name: mx.array(_init(name, shape, rng)) for name, shape in sorted(shapes.items())}
    mx.save_safetensors(str(path), weights, metadata={"format": "mlx"})


def _init(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    leaf = name.rsplit(".", 1)[-1]
    is_norm = "norm" in name or "layrnorm" in name
    if leaf == "bias":
        return np.zeros(shape, dtype=np.float32)
    if is_norm and leaf == "weight":
        return np.ones(shape, dtype=np.float32)
    return rng.normal(0.0, 0.05, size=shape).astype(np.float32)
