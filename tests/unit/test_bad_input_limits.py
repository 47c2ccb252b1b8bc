"""Bad input corpus, numbers: sampling values that make no sense and prompts longer than
the model's context are refused before anything is loaded or processed, with the numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench import cli
from workbench.core.errors import InputError
from workbench.core.limits import (
    SEED_MAX,
    check_prompt_length,
    check_sampling,
    context_length,
)
from workbench.core.types import SamplingSettings
from workbench.tui.chat.settings_screen import parse_sampling


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (SamplingSettings(temperature=math.nan), "temperature must be a finite number"),
        (SamplingSettings(temperature=math.inf), "temperature must be a finite number"),
        (SamplingSettings(temperature=-0.5), "temperature must be 0 or more"),
        (SamplingSettings(top_p=math.nan), "top_p must be in"),
        (SamplingSettings(top_p=0.0), "top_p must be in"),
        (SamplingSettings(top_p=-math.inf), "top_p must be in"),
        (SamplingSettings(max_tokens=0), "max_tokens must be at least 1"),
        (SamplingSettings(max_tokens=10**12), "max_tokens must be at most"),
        (SamplingSettings(seed=-1), "seed must be between 0 and"),
        (SamplingSettings(seed=2**64), "seed must be between 0 and"),
        (SamplingSettings(seed=True), "seed must be a whole number"),
    ],
)
def test_sampling_values_that_make_no_sense_are_refused(
    settings: SamplingSettings, words: str
) -> None:
    with pytest.raises(InputError, match=words):
        check_sampling(settings)


def test_sensible_sampling_values_pass() -> None:
    check_sampling(SamplingSettings(temperature=0.7, top_p=0.9, max_tokens=64, seed=SEED_MAX))
    check_sampling(SamplingSettings())


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--temperature", "nan"], "--temperature must be a finite number (got nan)"),
        (["--top-p", "inf"], "--top-p must be in (0, 1] (got inf)"),
        (["--seed", "-3"], "--seed must be between 0 and 4294967295 (got -3)"),
        (["--seed", str(2**70)], "--seed must be between"),
        (["--max-tokens", "-1"], "--max-tokens must be at least 1"),
    ],
)
def test_cli_refuses_bad_sampling_before_looking_for_the_model(
    flags: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the model does not exist: the flags are refused first, so nothing is scanned or loaded
    assert cli.main(["chat", "no-such-model-anywhere", "hi", *flags]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1


def test_the_settings_screen_refuses_a_seed_mlx_cannot_take() -> None:
    with pytest.raises(InputError, match="seed must be between"):
        parse_sampling("0.7", "1", "64", "-5")
    with pytest.raises(InputError, match="temperature"):
        parse_sampling("nan", "1", "64", "")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"max_position_embeddings": 8192}, 8192),
        ({"n_positions": 1024}, 1024),
        ({"text_config": {"max_position_embeddings": 4096}, "max_position_embeddings": 77}, 4096),
        ({"max_position_embeddings": -1}, None),
        ({"max_position_embeddings": True}, None),
        ({"max_position_embeddings": "8192"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_context_length_comes_from_the_config(config: object, expected: int | None) -> None:
    assert context_length(config) == expected  # type: ignore[arg-type]


@given(
    prompt=st.integers(min_value=0, max_value=10**7),
    context=st.one_of(st.none(), st.integers(min_value=1, max_value=10**7)),
)
def test_prompt_length_refusal_is_exact_and_names_both_numbers(
    prompt: int, context: int | None
) -> None:
    too_long = context is not None and prompt >= context
    try:
        check_prompt_length(prompt, context, "Tiny")
    except InputError as exc:
        assert too_long, "refused a prompt that fits"
        assert f"{prompt:,} tokens" in str(exc) and f"Tiny handles {context:,}" in str(exc)
    else:
        assert not too_long, "accepted a prompt longer than the context"
