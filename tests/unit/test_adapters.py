"""Chat adapters against fake tokenizers that render real model chat templates with Jinja."""

from __future__ import annotations

import re

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workbench.core.adapters import adapter_for
from workbench.core.errors import InputError
from workbench.core.types import ChatMessage, Family

CHATML_SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3 = (
    "{% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
MISTRAL_V1 = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)
GEMMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
# A template that silently ignores system messages instead of rejecting them.
DROPS_SYSTEM = (
    "{% for message in messages %}{% if message['role'] == 'user' %}[INST] {{ message['content'] }}"
    " [/INST]{% elif message['role'] == 'assistant' %}{{ message['content'] }}</s>{% endif %}"
    "{% endfor %}"
)


class FakeTokenizer:
    """Special tokens get their vocabulary id; every other character is ``1000 + ord(c)``."""

    def __init__(self, specials: list[str], eos: str, template: str | None, bos: str | None):
        self.vocab = {token: index for index, token in enumerate(specials)}
        self.eos_token = eos
        self.eos_token_id = self.vocab[eos]
        self.bos_token = bos
        self.chat_template = template
        self._split = re.compile("(" + "|".join(map(re.escape, specials)) + ")")

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = [self.vocab[self.bos_token]] if add_special_tokens and self.bos_token else []
        for piece in self._split.split(text):
            ids += [self.vocab[piece]] if piece in self.vocab else [1000 + ord(c) for c in piece]
        return ids

    def apply_chat_template(self, conversation, tokenize=True, add_generation_prompt=False):
        if self.chat_template is None:
            raise ValueError("no chat template")

        def raise_exception(message):
            raise jinja2.exceptions.TemplateError(message)

        env = ImmutableSandboxedEnvironment()
        env.globals["raise_exception"] = raise_exception
        text = env.from_string(self.chat_template).render(
            messages=conversation,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.bos_token or "",
            eos_token=self.eos_token,
        )
        return self.encode(text, add_special_tokens=False) if tokenize else text


def smollm2() -> FakeTokenizer:
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    return FakeTokenizer(specials, eos="<|im_end|>", template=CHATML_SMOLLM2, bos=None)


def llama3() -> FakeTokenizer:
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>"]  # fmt: skip
    return FakeTokenizer(specials, eos="<|end_of_text|>", template=LLAMA3, bos="<|begin_of_text|>")


def mistral(template: str | None = MISTRAL_V1) -> FakeTokenizer:
    return FakeTokenizer(["<unk>", "<s>", "</s>"], eos="</s>", template=template, bos="<s>")


def gemma() -> FakeTokenizer:
    specials = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"]
    return FakeTokenizer(specials, eos="<eos>", template=GEMMA2, bos="<bos>")


def qwen() -> FakeTokenizer:
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    return FakeTokenizer(specials, eos="<|endoftext|>", template=CHATML_SMOLLM2, bos=None)


def ids(tokenizer: FakeTokenizer, *names: str) -> frozenset[int]:
    return frozenset(tokenizer.vocab[name] for name in names)


SYSTEM = ChatMessage("system", "Be brief.")
HI = ChatMessage("user", "Hi")


# --------------------------------------------------------------------------- stop tokens


def test_adapter_for_picks_the_family_adapter_and_a_default():
    assert adapter_for(Family.MISTRAL).family is Family.MISTRAL
    assert adapter_for(Family.GEMMA).family is Family.GEMMA
    assert adapter_for(Family.OTHER).family is Family.OTHER


def test_llama3_stops_on_eot_and_end_of_text():
    tok = llama3()
    stops = adapter_for(Family.LLAMA).stop_token_ids(tok)
    assert stops == ids(tok, "<|eot_id|>", "<|end_of_text|>")


def test_llama_family_with_chatml_template_stops_on_im_end_even_if_eos_differs():
    tok = smollm2()
    tok.eos_token, tok.eos_token_id = "<|endoftext|>", tok.vocab["<|endoftext|>"]
    stops = adapter_for(Family.LLAMA).stop_token_ids(tok)
    # <|eot_id|> is not in this vocabulary, so it cannot be a stop token.
    assert stops == ids(tok, "<|endoftext|>", "<|im_end|>")


def test_qwen_stops_on_im_end_and_endoftext():
    tok = qwen()
    assert adapter_for(Family.QWEN).stop_token_ids(tok) == ids(tok, "<|im_end|>", "<|endoftext|>")


def test_gemma_stops_on_end_of_turn_and_eos():
    tok = gemma()
    assert adapter_for(Family.GEMMA).stop_token_ids(tok) == ids(tok, "<end_of_turn>", "<eos>")


def test_mistral_stops_on_eos_only():
    tok = mistral()
    assert adapter_for(Family.MISTRAL).stop_token_ids(tok) == ids(tok, "</s>")


def test_default_adapter_without_template_stops_on_eos_only():
    tok = qwen()
    tok.chat_template = None
    assert adapter_for(Family.OTHER).stop_token_ids(tok) == ids(tok, "<|endoftext|>")


def test_stop_tokens_keep_eos_ids_a_wrapper_already_knows():
    tok = qwen()
    tok.eos_token_ids = {7777}  # mlx-lm's wrapper adds generation_config's eos ids here
    assert 7777 in adapter_for(Family.QWEN).stop_token_ids(tok)


def test_stop_tokens_accept_a_single_int_eos_ids_attribute():
    tok = qwen()
    tok.eos_token_ids = 7777  # transformers 5 tokenizers answer with one int
    stops = adapter_for(Family.QWEN).stop_token_ids(tok)
    assert 7777 in stops and ids(tok, "<|im_end|>") <= stops


# --------------------------------------------------------------------------- templates


def test_chatml_template_is_used_verbatim():
    text = adapter_for(Family.LLAMA).prompt_text(smollm2(), [SYSTEM, HI])
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" \
        "<|im_start|>assistant\n"  # fmt: skip


def test_llama3_keeps_its_native_system_role():
    text = adapter_for(Family.LLAMA).prompt_text(llama3(), [SYSTEM, HI])
    header = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    assert text.startswith(header + "Be brief.<|eot_id|>")


def test_template_tokens_get_no_second_bos():
    tok = llama3()
    tokens = adapter_for(Family.LLAMA).prompt_tokens(tok, [HI])
    assert tokens.count(tok.vocab["<|begin_of_text|>"]) == 1
    assert tokens[0] == tok.vocab["<|begin_of_text|>"]


def test_mistral_v1_folds_system_into_first_user_turn():
    text = adapter_for(Family.MISTRAL).prompt_text(mistral(), [SYSTEM, HI])
    assert text == "<s>[INST] Be brief.\n\nHi [/INST]"


def test_mistral_v1_multi_turn_with_system_keeps_alternation():
    messages = [SYSTEM, HI, ChatMessage("assistant", "Hello."), ChatMessage("user", "Bye")]
    text = adapter_for(Family.MISTRAL).prompt_text(mistral(), messages)
    assert text == "<s>[INST] Be brief.\n\nHi [/INST]Hello.</s> [INST] Bye [/INST]"


def test_consecutive_user_turns_are_merged_for_strict_templates():
    messages = [HI, ChatMessage("user", "Are you there?")]
    text = adapter_for(Family.MISTRAL).prompt_text(mistral(), messages)
    assert text == "<s>[INST] Hi\n\nAre you there? [/INST]"


def test_template_that_silently_drops_system_gets_it_folded():
    text = adapter_for(Family.MISTRAL).prompt_text(mistral(DROPS_SYSTEM), [SYSTEM, HI])
    assert text == "[INST] Be brief.\n\nHi [/INST]"


def test_gemma_has_no_system_role_so_system_is_folded():
    text = adapter_for(Family.GEMMA).prompt_text(gemma(), [SYSTEM, HI])
    assert text == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"


def test_system_only_after_folding_becomes_a_user_turn():
    messages = [SYSTEM, ChatMessage("assistant", "Ok."), HI]
    text = adapter_for(Family.GEMMA).prompt_text(gemma(), messages)
    assert text.startswith(
        "<bos><start_of_turn>user\nBe brief.<end_of_turn>\n<start_of_turn>model\nOk."
    )


def test_fallback_template_when_tokenizer_has_none():
    tok = mistral(template=None)
    messages = [SYSTEM, HI, ChatMessage("assistant", "Hello."), ChatMessage("user", "Bye")]
    adapter = adapter_for(Family.OTHER)
    assert adapter.prompt_text(tok, messages) == (
        "Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Bye\n\nAssistant:"
    )
    # The plain transcript has no BOS of its own, so the tokenizer adds it.
    assert adapter.prompt_tokens(tok, messages)[0] == tok.vocab["<s>"]


# --------------------------------------------------------------------------- bad input


def test_empty_conversation_is_an_input_error():
    with pytest.raises(InputError, match="empty"):
        adapter_for(Family.LLAMA).prompt_tokens(smollm2(), [])


def test_unknown_role_is_an_input_error():
    with pytest.raises(InputError, match="tool"):
        adapter_for(Family.LLAMA).prompt_tokens(smollm2(), [ChatMessage("tool", "x")])


def test_template_that_rejects_even_the_folded_conversation_is_one_line_input_error():
    tok = mistral()
    # Starting with an assistant turn breaks v1's alternation whatever we fold.
    messages = [ChatMessage("assistant", "Hello."), HI]
    with pytest.raises(InputError) as caught:
        adapter_for(Family.MISTRAL).prompt_text(tok, messages)
    assert "alternate" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_template_that_trims_the_system_text_still_counts_as_keeping_it():
    text = adapter_for(Family.LLAMA).prompt_text(
        llama3(), [ChatMessage("system", " Be brief.\n"), HI]
    )
    assert "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" in text
    assert "Be brief.\n\nHi" not in text  # not folded into the user turn
