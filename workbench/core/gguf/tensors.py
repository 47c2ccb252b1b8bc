"""Tensors MLX cannot read from a GGUF file: dequantized with ``gguf``, re-quantized for MLX.

MLX's own GGUF reader handles Q4_0, Q4_1, Q8_0 and float tensors only; the K-quants most
files use today (Q4_K_M mixes Q4_K, Q5_0, Q6_K and Q8_0) fail with "gguf_tensor_to_f16
failed". Here each tensor's bytes are read from a memory map, dequantized by llama.cpp's own
Python package (``gguf.quants``, numpy), and re-quantized with ``mx.quantize`` at the bits
``gguf_convert.target_bits`` chose (never below the file's precision for that tensor).

Memory stays near the size of the result: rows are converted in slices of about 32 MB of
float32, so the 262,144-row Gemma embedding never exists as one float32 array. Quantization
scales stay float32 when MLX runs on the CPU (there bf16 scales ran ~8x slower and fp16
~35x); on a GPU they are float16, as mlx-lm's own quantized models have them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from workbench.core.errors import GGUFError
from workbench.core.gguf.convert import (
    GROUP_SIZE,
    IGNORED_TENSORS,
    architecture,
    fix_tensor,
    known_tensor_name,
    target_bits,
)
from workbench.core.gguf.reader import GGML_TYPES, GGUFHeader, TensorInfo

SLICE_BYTES = 32 << 20  # float32 bytes dequantized at a time


def _raw_rows(data: np.memmap, header: GGUFHeader, tensor: TensorInfo) -> np.ndarray:
    """The tensor's bytes as a (rows, bytes per row) uint8 view into the memory map."""
    _, block_elems, block_bytes = GGML_TYPES[tensor.type_id]
    row_bytes = tensor.dims[0] // block_elems * block_bytes
    start = header.data_offset + tensor.offset
    return data[start : start + tensor.nbytes].reshape(-1, row_bytes)


def _dequantize(raw: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """Float32 rows from raw GGUF rows of any supported type."""
    import gguf

    kind = gguf.GGMLQuantizationType[tensor.type_name]
    try:
        return np.asarray(gguf.quants.dequantize(raw, kind), dtype=np.float32)
    except (NotImplementedError, ValueError) as exc:
        raise GGUFError(f"cannot dequantize '{tensor.name}' ({tensor.type_name}): {exc}") from exc


def scales_dtype() -> Any:
    """float32 on the CPU (several times faster there), float16 on a GPU."""
    import mlx.core as mx

    return mx.float32 if mx.default_device() == mx.cpu else mx.float16


def _row_slices(rows: int, cols: int) -> Iterator[slice]:
    step = max(1, SLICE_BYTES // (4 * cols))
    for start in range(0, rows, step):
        yield slice(start, min(rows, start + step))


def _quantized(raw: np.ndarray, tensor: TensorInfo, bits: int) -> dict[str, Any]:
    import mlx.core as mx

    parts: dict[str, list[Any]] = {"weight": [], "scales": [], "biases": []}
    dtype = scales_dtype()
    for rows in _row_slices(raw.shape[0], tensor.dims[0]):
        floats = mx.array(_dequantize(np.ascontiguousarray(raw[rows]), tensor))
        weight, scales, biases = mx.quantize(floats, group_size=GROUP_SIZE, bits=bits)
        scales, biases = scales.astype(dtype), biases.astype(dtype)
        mx.eval(weight, scales, biases)
        for key, value in zip(parts, (weight, scales, biases), strict=True):
            parts[key].append(value)
        del floats
    return {
        key: mx.concatenate(values) if len(values) > 1 else values[0]
        for key, values in parts.items()
    }


def _floats(raw: np.ndarray, tensor: TensorInfo) -> Any:
    import mlx.core as mx

    shape = tuple(reversed(tensor.dims))
    values = _dequantize(np.ascontiguousarray(raw), tensor).reshape(shape)
    if len(shape) == 1 or tensor.type_name == "F32":
        return mx.array(values)
    if tensor.type_name == "BF16":
        return mx.array(values).astype(mx.bfloat16)
    return mx.array(values.astype(np.float16))


def _unpermute_raw(raw: np.ndarray, hf_name: str, header: GGUFHeader) -> np.ndarray:
    """Q/K row order fixed on the raw rows (rows are independent in every GGUF type)."""
    return np.ascontiguousarray(fix_tensor(hf_name, raw, header))


def requantized_weights(header: GGUFHeader, bits: int) -> dict[str, Any]:
    """Every tensor of the file under its Hugging Face name, ready for mlx-lm."""
    arch = architecture(header)
    data = np.memmap(header.path, dtype=np.uint8, mode="r")
    weights: dict[str, Any] = {}
    for tensor in header.tensors:
        if tensor.name in IGNORED_TENSORS:
            continue
        hf_name = known_tensor_name(tensor.name, arch, header)
        raw = _raw_rows(data, header, tensor)
        chosen = target_bits(tensor, bits)
        if chosen is None:
            weights[hf_name] = fix_tensor(hf_name, _floats(raw, tensor), header)
            continue
        if arch.permute_qk:
            raw = _unpermute_raw(raw, hf_name, header)
        module = hf_name.removesuffix(".weight")
        for key, value in _quantized(raw, tensor, chosen).items():
            weights[f"{module}.{key}"] = value
    del data
    return weights
