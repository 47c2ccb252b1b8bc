"""Memory bandwidth of known devices, for "what share of the hardware limit is this?".

Decoding one token reads every weight once, so weights bytes × tokens per second is the
memory traffic a reply needs; divided by the device's peak bandwidth it says how close
decoding runs to the hardware's limit. Peaks are the vendors' published figures; devices
not listed get no fraction (the report leaves the row out rather than guess).
"""

from __future__ import annotations

TB = 1e12
GB = 1e9
# Longest names first where one contains another ("M4 Max" before "M4").
PEAKS = (
    ("H200", 4.8 * TB),
    ("H100 PCIe", 2.0 * TB),
    ("H100", 3.35 * TB),
    ("GH200", 4.0 * TB),
    ("B200", 8.0 * TB),
    ("A100-SXM4-80GB", 2.039 * TB),
    ("A100", 1.555 * TB),
    ("L40S", 864 * GB),
    ("RTX 4090", 1008 * GB),
    ("RTX 5090", 1792 * GB),
    ("M4 Max", 546 * GB),
    ("M4 Pro", 273 * GB),
    ("M3 Ultra", 819 * GB),
    ("M3 Max", 400 * GB),
    ("M2 Ultra", 800 * GB),
    ("M2 Max", 400 * GB),
    ("M1 Ultra", 800 * GB),
    ("M1 Max", 400 * GB),
)


def bandwidth_bytes_per_s(device_name: str) -> float | None:
    """The peak memory bandwidth of the device named (e.g. "NVIDIA H200"), if known."""
    for name, peak in PEAKS:
        if name.lower() in device_name.lower():
            return peak
    return None


def bandwidth_share(weights_bytes: int, tokens_per_s: float, peak: float) -> float:
    """Percent of ``peak`` that reading ``weights_bytes`` per token at that speed takes."""
    return 100 * weights_bytes * tokens_per_s / peak
