"""Chat templates for GGUF files that carry none.

Gemma 3 GGUF files converted from the base checkpoint have no ``tokenizer.chat_template``,
yet the family's turn format is fixed (``<start_of_turn>user`` … ``<end_of_turn>``, no system
role: Google's template folds a system message into the first user turn). Writing Google's
template into the import lets the same prompt reach the model as from the Hugging Face
release. Other architectures without a template keep none (the adapters fall back to a plain
transcript).
"""

from __future__ import annotations

from workbench.core.gguf.reader import GGUFHeader

# Google's Gemma 3 template (text parts only; image items become <start_of_image>)
GEMMA3_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}"
    "{%- endif -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{%- set role = 'model' -%}"
    "{%- else -%}{%- set role = message['role'] -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
    "{%- if message['content'] is string -%}{{ message['content'] | trim }}"
    "{%- elif message['content'] is iterable -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{ '<start_of_image>' }}"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] | trim }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- else -%}{{ raise_exception('Invalid content type') }}"
    "{%- endif -%}"
    "{{ '<end_of_turn>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)

_DEFAULTS = {"gemma3": GEMMA3_TEMPLATE}


def default_template(header: GGUFHeader) -> str | None:
    """The family's standard chat template when the file has none, else None."""
    return _DEFAULTS.get(header.get("general.architecture"))
