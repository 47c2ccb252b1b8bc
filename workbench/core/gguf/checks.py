"""Shape and completeness checks: refuse a GGUF that would import into an unloadable model.

mlx-lm only finds a missing or misshapen weight when the model is loaded — after minutes of
conversion, and with a message about parameter names the user never saw. These checks run
on the header alone, before any conversion: every layer has the parts the architecture
needs, and the main matrices have the shapes the hyper-parameters promise.
"""

from __future__ import annotations

from workbench.core.errors import GGUFError
from workbench.core.gguf.reader import GGUFHeader

REQUIRED_PARTS = (
    "attn_norm",
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_norm",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
)


def check_layers(header: GGUFHeader, layers: int) -> None:
    """Every layer has the same weights, including every part the model needs."""
    parts: dict[int, set[str]] = {}
    for tensor in header.tensors:
        pieces = tensor.name.split(".")
        if pieces[0] == "blk" and len(pieces) == 4 and pieces[1].isdigit():
            parts.setdefault(int(pieces[1]), set()).add(f"{pieces[2]}.{pieces[3]}")
    name = header.path.name
    if sorted(parts) != list(range(layers)):
        raise GGUFError(f"{name}: the layers in the file do not match its block_count ({layers})")
    first = parts[0]
    missing = [p for p in REQUIRED_PARTS if f"{p}.weight" not in first]
    if missing:
        raise GGUFError(f"{name}: layer 0 has no {', '.join(missing)} weight")
    for index, found in parts.items():
        if found != first:
            odd = sorted(found ^ first)[0]
            raise GGUFError(f"{name}: layer {index} differs from layer 0 ('{odd}')")


def check_shapes(header: GGUFHeader, hidden: int, q_rows: int, kv_rows: int, ffn: int) -> None:
    """The embedding and layer 0's matrices have the shapes the metadata implies."""
    expected = {
        "token_embd.weight": (hidden, None),
        "blk.0.attn_q.weight": (hidden, q_rows),
        "blk.0.attn_k.weight": (hidden, kv_rows),
        "blk.0.attn_v.weight": (hidden, kv_rows),
        "blk.0.attn_output.weight": (q_rows, hidden),
        "blk.0.ffn_up.weight": (hidden, ffn),
        "blk.0.ffn_down.weight": (ffn, hidden),
    }
    for tensor in header.tensors:
        shape = expected.get(tensor.name)
        if shape is None:
            continue
        ok = len(tensor.dims) == 2 and all(
            want in (None, dim) for want, dim in zip(shape, tensor.dims, strict=True)
        )
        if not ok:
            raise GGUFError(
                f"{header.path.name}: tensor '{tensor.name}' has shape {tensor.dims}, "
                f"the metadata implies {tuple(d if d else '*' for d in shape)}"
            )
