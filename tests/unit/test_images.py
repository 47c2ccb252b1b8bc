"""The image pipeline on local files: a corpus of bad and awkward images, built in each test.

Each bad input must give one ``ImageError`` line naming the file and the reason; each
awkward-but-valid image must come out as the picture a user would expect to have sent.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from workbench.core.errors import ImageError, InputError
from workbench.core.images.prepare import (
    fit_size,
    load_image_file,
    prepare_image,
    save_prepared,
)

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming ``width``×``height``, with a tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def refused(source: str, **options: object) -> str:
    with pytest.raises(ImageError) as caught:
        prepare_image(source, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message, "error messages are one line"
    return message


def close_to(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("side", [8000, 10_000, 20_000])
def test_decompression_bomb_header_is_refused(tmp_path: Path, side: int) -> None:
    # 64 Mpx: over our cap only; 100 Mpx: Pillow merely warns; 400 Mpx: Pillow errors.
    source = write(tmp_path / "bomb.png", png_header_only(side, side))
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        message = refused(source)
    assert message.startswith(f"{source}: ")
    assert message.endswith("over the 50 Mpx limit)" if side > 8000 else "over the 50 Mpx limit")
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    assert warnings.filters == filters_before, "the warning filter must not leak"


def test_image_over_a_lower_pixel_cap_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "photo.png", encode(noise((40, 30)), "PNG"))
    message = refused(source, max_pixels=1000)
    assert message == f"{source}: 40×30 is 1,200 pixels, over the 1,000 pixels limit"
    assert prepare_image(source, max_pixels=1200).sent_size == (40, 30)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_fails_at_decode(tmp_path: Path, fmt: str) -> None:
    data = encode(noise((64, 64)), fmt)
    source = write(tmp_path / f"cut.{fmt.lower()}", data[: len(data) // 2])
    message = refused(source)
    assert message.startswith(f"{source}: damaged or truncated image (")


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    source = write(tmp_path / "photo.png", random.Random(7).randbytes(4096))
    assert refused(source) == f"{source}: not an image (cannot identify image file)"


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    source = write(tmp_path / "notes.jpg", b"just some notes\n" * 20)
    assert refused(source) == f"{source}: not an image (cannot identify image file)"


def test_zero_byte_file(tmp_path: Path) -> None:
    source = write(tmp_path / "empty.png", b"")
    assert refused(source) == f"{source}: empty file (0 bytes)"


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    assert refused(str(folder)) == f"{folder}: is a folder, not an image file"


def test_missing_file(tmp_path: Path) -> None:
    source = str(tmp_path / "nowhere.png")
    assert refused(source) == f"{source}: no such file"


def test_file_over_the_byte_cap_is_refused_before_reading(tmp_path: Path) -> None:
    source = write(tmp_path / "big.png", encode(noise((64, 64)), "PNG"))
    message = refused(source, max_bytes=2048)
    assert message.startswith(f"{source}: ") and "over the 2.0 KB limit" in message


def test_eps_is_never_opened(tmp_path: Path) -> None:
    # Pillow would hand EPS to Ghostscript; an attachment must not run programs.
    source = write(tmp_path / "doc.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert "not an image" in refused(source)


def test_nonsense_limits_are_input_errors(tmp_path: Path) -> None:
    source = write(tmp_path / "a.png", encode(noise((8, 8)), "PNG"))
    with pytest.raises(InputError):
        prepare_image(source, max_side=0)
    with pytest.raises(InputError):
        prepare_image(source, timeout=0)


# --------------------------------------------------------------------------- normalisation


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    levels = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    image = Image.fromarray(levels)
    assert image.mode.startswith("I;16")
    source = write(tmp_path / "scan16.png", encode(image, "PNG"))
    prepared = prepare_image(source)
    row = [prepared.image.getpixel((x, 0)) for x in range(4)]
    assert row == [(0, 0, 0), (4, 4, 4), (128, 128, 128), (255, 255, 255)]


def test_thirty_two_bit_integer_grey_is_scaled(tmp_path: Path) -> None:
    levels = np.array([[0, 257 * 100, 65535]], dtype=np.int32).repeat(2, axis=0)
    source = write(tmp_path / "deep.tif", encode(Image.fromarray(levels), "TIFF"))
    prepared = prepare_image(source)
    assert [prepared.image.getpixel((x, 0))[0] for x in range(3)] == [0, 100, 255]


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [((255, 0, 0, 0), (0, 255, 255)), ((0, 255, 0, 0), (255, 0, 255)), ((0, 0, 0, 0), WHITE)],
)
def test_cmyk_jpeg_is_converted(
    tmp_path: Path, cmyk: tuple[int, ...], rgb: tuple[int, ...]
) -> None:
    source = write(tmp_path / "print.jpg", encode(Image.new("CMYK", (16, 16), cmyk), "JPEG"))
    prepared = prepare_image(source)
    assert prepared.format == "JPEG"
    assert prepared.image.mode == "RGB"
    assert close_to(prepared.image.getpixel((8, 8)), rgb)


@pytest.mark.parametrize(("fmt", "ext"), [("GIF", "gif"), ("PNG", "png"), ("WEBP", "webp")])
def test_animation_keeps_the_first_frame(tmp_path: Path, fmt: str, ext: str) -> None:
    frames = [Image.new("RGB", (24, 24), colour) for colour in (RED, GREEN, BLUE)]
    options: dict[str, object] = {"save_all": True, "append_images": frames[1:], "duration": 100}
    if fmt == "WEBP":
        options["lossless"] = True
    source = write(tmp_path / f"anim.{ext}", encode(frames[0], fmt, **options))
    prepared = prepare_image(source)
    assert prepared.animated
    assert prepared.image.mode == "RGB"
    assert close_to(prepared.image.getpixel((12, 12)), RED)


def test_transparency_is_flattened_over_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (4, 1))
    image.putdata([(255, 0, 0, 0), (255, 0, 0, 255), (255, 0, 0, 128), (0, 0, 0, 0)])
    prepared = prepare_image(write(tmp_path / "alpha.png", encode(image, "PNG")))
    pixels = [prepared.image.getpixel((x, 0)) for x in range(4)]
    assert pixels[0] == WHITE and pixels[3] == WHITE
    assert pixels[1] == RED
    assert close_to(pixels[2], (255, 127, 127), tolerance=2)


def test_palette_with_transparent_index_is_white_there(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 255] + [255, 0, 0] + [0, 0, 0] * 254)
    image.putdata([0, 1])
    data = encode(image, "PNG", transparency=0)
    prepared = prepare_image(write(tmp_path / "pal.png", data))
    assert prepared.image.getpixel((0, 0)) == WHITE
    assert prepared.image.getpixel((1, 0)) == RED


def test_grey_with_alpha(tmp_path: Path) -> None:
    image = Image.new("LA", (2, 1))
    image.putdata([(0, 255), (0, 0)])
    prepared = prepare_image(write(tmp_path / "la.png", encode(image, "PNG")))
    assert prepared.image.getpixel((0, 0)) == (0, 0, 0)
    assert prepared.image.getpixel((1, 0)) == WHITE


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_image_is_resized_and_original_size_recorded(tmp_path: Path, fmt: str) -> None:
    image = Image.new("RGB", (4032, 3024), GREEN)
    image.paste(Image.new("RGB", (2016, 3024), BLUE), (2016, 0))
    source = write(tmp_path / f"photo.{fmt.lower()}", encode(image, fmt))
    prepared = prepare_image(source)
    assert prepared.original_size == (4032, 3024)
    assert prepared.sent_size == (2048, 1536) == prepared.image.size
    assert prepared.size_line() == "4032×3024 → 2048×1536"
    assert close_to(prepared.image.getpixel((100, 700)), GREEN, tolerance=10)
    assert close_to(prepared.image.getpixel((1900, 700)), BLUE, tolerance=10)


def test_small_image_is_never_upscaled(tmp_path: Path) -> None:
    prepared = prepare_image(write(tmp_path / "s.png", encode(noise((100, 50)), "PNG")))
    assert prepared.sent_size == prepared.original_size == (100, 50)
    assert prepared.size_line() == "100×50"


def test_max_side_is_honoured(tmp_path: Path) -> None:
    source = write(tmp_path / "wide.png", encode(noise((3000, 1000)), "PNG"))
    prepared = prepare_image(source, max_side=600)
    assert prepared.sent_size == (600, 200)


def rotated_jpeg(size: tuple[int, int], orientation: int) -> bytes:
    """Left half red, right half blue as stored, with an EXIF orientation tag."""
    image = Image.new("RGB", size, RED)
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), BLUE), (size[0] // 2, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    # Orientation 6: stored sideways, shown rotated 90° clockwise (stored left -> top).
    prepared = prepare_image(write(tmp_path / "phone.jpg", rotated_jpeg((40, 20), 6)))
    assert prepared.original_size == (20, 40) == prepared.sent_size
    assert close_to(prepared.image.getpixel((10, 5)), RED, tolerance=20)
    assert close_to(prepared.image.getpixel((10, 35)), BLUE, tolerance=20)


def test_exif_rotation_with_resize(tmp_path: Path) -> None:
    source = write(tmp_path / "phone.jpg", rotated_jpeg((800, 400), 6))
    prepared = prepare_image(source, max_side=100)
    assert prepared.original_size == (400, 800)
    assert prepared.sent_size == (50, 100)
    assert close_to(prepared.image.getpixel((25, 10)), RED, tolerance=20)
    assert close_to(prepared.image.getpixel((25, 90)), BLUE, tolerance=20)


def test_quoted_and_file_url_paths(tmp_path: Path) -> None:
    path = tmp_path / "with space.png"
    path.write_bytes(encode(noise((8, 8)), "PNG"))
    assert prepare_image(f"'{path}'").sent_size == (8, 8)
    assert prepare_image(path.as_uri()).sent_size == (8, 8)


# --------------------------------------------------------------------------- identity, store


def test_prepared_image_describes_itself(tmp_path: Path) -> None:
    source = write(tmp_path / "a.png", encode(noise((30, 20)), "PNG"))
    prepared = prepare_image(source)
    assert prepared.source == source
    assert prepared.format == "PNG"
    assert len(prepared.sha256) == 64
    assert prepared == prepare_image(source), "same input, same result (and same hash)"
    with pytest.raises(AttributeError):
        prepared.source = "other"  # type: ignore[misc]


def test_save_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    first = prepare_image(write(tmp_path / "a.png", encode(noise((30, 20), seed=1), "PNG")))
    again = prepare_image(write(tmp_path / "a-copy.png", encode(noise((30, 20), seed=1), "PNG")))
    other = prepare_image(write(tmp_path / "b.png", encode(noise((30, 20), seed=2), "PNG")))
    store = tmp_path / "store" / "images"
    path = save_prepared(first, store)
    assert path == store / f"{first.sha256}.png"
    assert save_prepared(again, store) == path
    assert save_prepared(other, store) != path
    assert sorted(p.name for p in store.iterdir()) == sorted(
        [f"{first.sha256}.png", f"{other.sha256}.png"]
    ), "no duplicates, no temporary files left behind"
    reopened = load_image_file(path)
    assert reopened.mode == "RGB" and reopened.tobytes() == first.image.tobytes()


def test_save_repairs_a_damaged_stored_copy(tmp_path: Path) -> None:
    prepared = prepare_image(write(tmp_path / "a.png", encode(noise((30, 20)), "PNG")))
    store = tmp_path / "images"
    store.mkdir()
    (store / f"{prepared.sha256}.png").write_bytes(b"half")
    path = save_prepared(prepared, store)
    assert path.read_bytes() == prepared.png


def test_save_into_an_unwritable_place_is_an_image_error(tmp_path: Path) -> None:
    prepared = prepare_image(write(tmp_path / "a.png", encode(noise((8, 8)), "PNG")))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ImageError, match="cannot store image"):
        save_prepared(prepared, blocker / "images")


def test_load_image_file_refuses_a_missing_stored_image(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image_file(tmp_path / "gone.png")


@given(
    width=st.integers(1, 20_000),
    height=st.integers(1, 20_000),
    max_side=st.integers(1, 4096),
)
def test_fit_size_never_upscales_and_keeps_aspect(width: int, height: int, max_side: int) -> None:
    fitted = fit_size((width, height), max_side)
    assert fitted[0] <= width and fitted[1] <= height
    if max(width, height) <= max_side:
        assert fitted == (width, height)
    else:
        assert max(fitted) == max_side
        # the aspect ratio moves by at most one rounding step on the short side
        short_exact = min(width, height) * max_side / max(width, height)
        assert abs(min(fitted) - max(1, short_exact)) <= 1


# --------------------------------------------------------------------------- colour, metadata


def rgb_profile(red: tuple[float, ...], green: tuple[float, ...], blue: tuple[float, ...]) -> bytes:
    """A minimal ICC v2 RGB display profile: given D50 primaries, gamma 2.2 curves."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: tuple[float, ...]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15(v) for v in values)

    text = b"swapped test profile\0"
    desc = (
        b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    )
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 24 + b"\0" * 4
        + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def test_embedded_colour_profile_is_applied(tmp_path: Path) -> None:
    red, green, blue = SRGB_D50
    swapped = rgb_profile(blue, green, red)  # this file's "red" channel means sRGB blue
    image = Image.new("RGB", (8, 8), RED)
    prepared = prepare_image(write(tmp_path / "p3.png", encode(image, "PNG", icc_profile=swapped)))
    assert close_to(prepared.image.getpixel((4, 4)), BLUE, tolerance=8)


def test_metadata_does_not_travel(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    image = Image.new("RGB", (8, 8), GREEN)
    profile = rgb_profile(*SRGB_D50)
    data = encode(image, "JPEG", exif=exif.tobytes(), icc_profile=profile, quality=95)
    prepared = prepare_image(write(tmp_path / "meta.jpg", data))
    stored = Image.open(io.BytesIO(prepared.png))
    assert not {"exif", "icc_profile"} & set(stored.info)
    assert close_to(prepared.image.getpixel((4, 4)), GREEN, tolerance=8)
