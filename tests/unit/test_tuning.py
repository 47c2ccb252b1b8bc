"""Base vs instruct marks: from names, chat templates in folders, and GGUF metadata."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest

from workbench.core.models.folder import describe_folder, describe_gguf
from workbench.core.models.tuning import (
    BASE,
    INSTRUCT,
    UNKNOWN,
    detect_tuning,
    folder_chat_template,
    from_words,
    gguf_facts,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Qwen2.5-1.5B-Instruct-4bit", INSTRUCT),
        ("gemma-3-270m-it", INSTRUCT),
        ("Mistral-7B-Chat.Q4_K_M", INSTRUCT),
        ("Llama-3.2-1B-base", BASE),
        ("gemma-3-1b-pt", BASE),
        ("gemma-3-270m", UNKNOWN),
        ("split-model", UNKNOWN),  # "-it" only as a word of its own
        ("Q4_K_M", UNKNOWN),
    ],
)
def test_names(name: str, expected: str) -> None:
    assert from_words([name]) == expected


def test_name_words_win_over_the_template_evidence() -> None:
    assert detect_tuning(["Qwen2.5-7B-base"], chat_template=True) == BASE
    assert detect_tuning(["SmolLM2-135M-Instruct"], chat_template=False) == INSTRUCT
    assert detect_tuning(["gemma-3-270m"], chat_template=False) == BASE
    assert detect_tuning(["gemma-3-270m"], chat_template=True) == INSTRUCT
    assert detect_tuning(["gemma-3-270m"], chat_template=None) == UNKNOWN


def _folder(root: Path, name: str, tokenizer_config: dict | None, files: tuple[str, ...] = ()):
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    if tokenizer_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    for file in files:
        (folder / file).write_text("{{ messages }}")
    return folder


def test_folders(tmp_path: Path) -> None:
    template = _folder(tmp_path, "m1", {"chat_template": "{{ x }}"})
    jinja = _folder(tmp_path, "m2", {}, ("chat_template.jinja",))
    plain = _folder(tmp_path, "m3", {"bos_token": "<s>"})
    unknown = _folder(tmp_path, "m4", None)
    assert folder_chat_template(template, ["tokenizer_config.json"]) is True
    tunings = [
        describe_folder(f, model_id=f.name, name=f.name, source="folder").tuning
        for f in (template, jinja, plain, unknown)
    ]
    assert tunings == [INSTRUCT, INSTRUCT, BASE, UNKNOWN]


def _gguf(path: Path, name: str, finetune: str | None, template: str | None) -> Path:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_type("model")
    if finetune:
        writer.add_finetune(finetune)
    writer.add_token_list([f"tok{i}" for i in range(3000)])  # an array the scan must skip
    writer.add_token_scores([0.0] * 3000)
    if template is not None:
        writer.add_chat_template(template)
    writer.add_tensor("token_embd.weight", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_metadata(tmp_path: Path) -> None:
    base = _gguf(tmp_path / "model-a.gguf", "Gemma 3 270m", None, None)
    finetuned = _gguf(tmp_path / "model-b.gguf", "Gemma 3 270m", "it", None)
    templated = _gguf(tmp_path / "model-c.gguf", "Something", None, "{{ messages }}")
    assert gguf_facts(base) == ({"general.name": "Gemma 3 270m", "general.type": "model"}, False)
    tunings = [
        describe_gguf(p, model_id=p.stem, name=p.stem, source="folder").tuning
        for p in (base, finetuned, templated)
    ]
    assert tunings == [BASE, INSTRUCT, INSTRUCT]


def test_unreadable_gguf_is_unknown(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 20)
    assert gguf_facts(broken) is None


def test_an_import_keeps_the_tuning_of_its_gguf_not_of_the_template_it_added(
    tmp_path: Path,
) -> None:
    """The importer writes a family template into a base model's import so that it can
    chat; the catalog still calls the model what its GGUF says it is."""
    from workbench.core.gguf.record import RECORD_FILE
    from workbench.core.models.catalog import imported_models

    source = _gguf(tmp_path / "gemma-3-270m.gguf", "Gemma 3 270m", None, None)
    root = tmp_path / "models"
    root.mkdir()
    folder = _folder(root, "gemma-3-270m-mlx", {"chat_template": "{{ messages }}"})
    (folder / RECORD_FILE).write_text(json.dumps({"source": str(source)}))
    (info,) = imported_models(root)
    assert (info.gguf_source, info.tuning) == (source, BASE)
