"""What differs between the GGUF architectures the importer supports: names, quirks, config.

llama.cpp's converter treats each family a little differently, and every difference, if
missed, gives a model that loads and then talks nonsense:

- tensor names: llama.cpp's ``blk.N.ffn_norm`` is Llama's post-attention norm but Gemma 3's
  pre-feed-forward norm;
- Q/K rows: permuted for llama (and Mistral, which llama.cpp files as llama), not for Qwen
  or Gemma;
- norm weights: Gemma's RMSNorm multiplies by ``1 + w`` and llama.cpp stores ``w + 1``, so
  the importer subtracts 1 again;
- hyper-parameters the GGUF does not carry (Gemma 3's local RoPE base, sliding-window
  pattern and attention scale) are filled in with the values of the released models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_COMMON_PARTS = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
}
_LLAMA_PARTS = {**_COMMON_PARTS, "ffn_norm": "post_attention_layernorm"}
_GEMMA_PARTS = {
    **_COMMON_PARTS,
    "post_attention_norm": "post_attention_layernorm",
    "ffn_norm": "pre_feedforward_layernorm",
    "post_ffw_norm": "post_feedforward_layernorm",
}
TOP_LEVEL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


@dataclass(frozen=True)
class Architecture:
    """One GGUF ``general.architecture`` and how it maps onto an mlx-lm model."""

    name: str
    model_type: str
    class_name: str
    layer_parts: dict[str, str]
    permute_qk: bool = False
    norm_plus_one: bool = False
    fixed: dict[str, Any] = field(default_factory=dict)

    def module_name(self, gguf_module: str) -> str | None:
        """The Hugging Face module for a GGUF module name (no suffix), or None if unknown."""
        if gguf_module in TOP_LEVEL:
            return TOP_LEVEL[gguf_module]
        parts = gguf_module.split(".")
        if (
            len(parts) == 3
            and parts[0] == "blk"
            and parts[1].isdigit()
            and parts[2] in self.layer_parts
        ):
            return f"model.layers.{int(parts[1])}.{self.layer_parts[parts[2]]}"
        return None


# Gemma 3 values the GGUF leaves out (from the released models' config.json)
GEMMA3_FIXED = {
    "rope_local_base_freq": 10000.0,
    "sliding_window_pattern": 6,
    "query_pre_attn_scalar": 256,
    "hidden_activation": "gelu_pytorch_tanh",
}

ARCHITECTURES = {
    "llama": Architecture("llama", "llama", "LlamaForCausalLM", _LLAMA_PARTS, permute_qk=True),
    "qwen2": Architecture("qwen2", "qwen2", "Qwen2ForCausalLM", _LLAMA_PARTS),
    "qwen3": Architecture("qwen3", "qwen3", "Qwen3ForCausalLM", _LLAMA_PARTS),
    "gemma3": Architecture(
        "gemma3",
        "gemma3_text",
        "Gemma3ForCausalLM",
        _GEMMA_PARTS,
        norm_plus_one=True,
        fixed=GEMMA3_FIXED,
    ),
}


def is_norm(hf_name: str) -> bool:
    """True for RMSNorm weights (the ones Gemma stores as ``w + 1``)."""
    return hf_name.endswith(("norm.weight", "layernorm.weight"))
