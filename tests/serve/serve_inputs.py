"""What the server tests send: the API key of the keyed server, and small PNG images.

A module of its own, not the folder's ``conftest``: test modules import it by name, and a
name shared by several test folders (``conftest``) resolves to whichever was loaded last.
"""

from __future__ import annotations

import io

from PIL import Image

API_KEY = "test-key-1234"


def png_bytes(
    size: tuple[int, int] = (48, 40), colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()
