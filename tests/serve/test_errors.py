"""Errors in the OpenAI shape with the right status: 400, 401, 404, 413, 503."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest
from serve_inputs import API_KEY, png_bytes

pytestmark = pytest.mark.real

HELLO = [{"role": "user", "content": "hello"}]


def client_for(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def data_uri(payload: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(payload).decode()


def image_message(*urls: str) -> list[dict]:
    blocks = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *blocks]}]


def loaded(url: str, key: str | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    status = httpx.get(f"{url}/v1/admin/models/status", headers=headers).json()
    return [e["model_id"] for e in status["entries"]]


def test_an_image_for_a_text_model_is_400_and_loads_nothing(server) -> None:
    before = loaded(server.url)
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(server.url).chat.completions.create(
            model="smollm2", messages=image_message(data_uri(png_bytes()))
        )
    assert caught.value.status_code == 400
    error = caught.value.body
    assert "text model and cannot see images" in error["message"]
    assert error["type"] == "invalid_request_error" and error["code"] == "wrong_model_kind"
    assert loaded(server.url) == before


def test_unknown_model_is_404(server) -> None:
    with pytest.raises(openai.NotFoundError, match="no model matches 'no-such-model'"):
        client_for(server.url).chat.completions.create(model="no-such-model", messages=HELLO)


def test_bad_settings_are_400(server) -> None:
    client = client_for(server.url)
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.chat.completions.create(model="smollm2", messages=HELLO, temperature=-1)
    with pytest.raises(openai.BadRequestError, match="n=1"):
        client.chat.completions.create(model="smollm2", messages=HELLO, n=2)
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="smollm2", messages=[])


def test_a_body_over_the_limit_is_413(server) -> None:
    huge = [{"role": "user", "content": "x" * (3 * 1024 * 1024)}]
    with pytest.raises(openai.APIStatusError) as caught:
        client_for(server.url).chat.completions.create(model="smollm2", messages=huge)
    assert caught.value.status_code == 413
    assert "request body is over the 2.0 MB limit" in caught.value.body["message"]


def test_too_many_or_too_large_images_are_413(server) -> None:
    client = client_for(server.url)
    small = data_uri(png_bytes())
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="tiny-llava", messages=image_message(*[small] * 3))
    assert caught.value.status_code == 413 and "3 images" in caught.value.body["message"]
    big = data_uri(b"\x89PNG" + bytes(700 * 1024))
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="tiny-llava", messages=image_message(big))
    assert caught.value.status_code == 413 and "512.0 KB" in caught.value.body["message"]


def test_a_broken_image_is_400(server) -> None:
    with pytest.raises(openai.BadRequestError, match="data URI"):
        client_for(server.url).chat.completions.create(
            model="tiny-llava", messages=image_message(data_uri(b"not an image at all"))
        )


def test_a_path_as_image_url_is_refused(server, tmp_path) -> None:
    picture = tmp_path / "secret.png"
    picture.write_bytes(png_bytes())
    with pytest.raises(openai.BadRequestError, match="data: URI or an http"):
        client_for(server.url).chat.completions.create(
            model="tiny-llava", messages=image_message(str(picture))
        )


def test_without_the_key_is_401(keyed_server) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        client_for(keyed_server.url, "wrong-key").models.list()
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    missing = httpx.get(f"{keyed_server.url}/v1/models")
    assert missing.status_code == 401 and "error" in missing.json()
    assert client_for(keyed_server.url, API_KEY).models.list().data


def test_no_room_in_the_pool_is_503_with_its_message_and_loads_nothing(keyed_server) -> None:
    client = client_for(keyed_server.url, API_KEY)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="smollm2", messages=HELLO, stream=True)
    assert caught.value.status_code == 503
    assert caught.value.body["code"] == "insufficient_memory"
    message = caught.value.body["message"]  # the pool's own words
    assert message.startswith("cannot load SmolLM2-135M-Instruct: needs") and "60.0 MB" in message
    assert loaded(keyed_server.url, API_KEY) == []
