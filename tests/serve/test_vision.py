"""Images to the tiny VLM: data URIs, and http URLs under the private-address rule."""

from __future__ import annotations

import openai
import pytest
from serve_inputs import API_KEY, png_bytes
from test_errors import data_uri, image_message

pytestmark = pytest.mark.real


def ask(client: openai.OpenAI, model: str, *urls: str) -> tuple[str, str | None]:
    stream = client.chat.completions.create(
        model=model, messages=image_message(*urls), max_tokens=6, stream=True
    )
    chunks = [c for c in stream if c.choices]
    return "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].choices[
        0
    ].finish_reason


def test_a_data_uri_image_streams_a_reply(server) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    text, finish = ask(client, "tiny-llava", data_uri(png_bytes()))
    assert text and finish in ("stop", "length")


def test_private_image_urls_are_refused_by_default(server, image_site) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    for url in (f"{image_site}/cat.png", "http://169.254.169.254/latest/meta-data/x.png"):
        with pytest.raises(openai.BadRequestError) as caught:
            ask(client, "tiny-llava", url)
        message = caught.value.body["message"]
        assert "loopback, private or link-local" in message
        assert "--allow-private-image-urls" in message


def test_private_image_urls_work_when_allowed(keyed_server, image_site) -> None:
    client = openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key=API_KEY, max_retries=0)
    model = str(keyed_server.vlm_dir)  # a model named by its path, as the CLI accepts
    text, finish = ask(client, model, f"{image_site}/cat.png")
    assert text and finish in ("stop", "length")
