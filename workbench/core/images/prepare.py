"""One image pipeline for every attachment: file path, http(s) URL, pasted ``data:`` URI.

A vision model should receive the same thing whatever the user pointed at: an 8-bit sRGB
picture, the right way up, no larger than it needs to be, carrying no metadata (a phone
photo's EXIF may hold where it was taken). Real files are not that: PNGs with alpha or
palettes, 16-bit scans that clip to white when converted naively, CMYK JPEGs, phone photos
rotated by an EXIF tag or in Display P3, animated GIFs, decompression bombs, truncated
downloads. This module turns all of them into a ``PreparedImage`` — or one ``ImageError``
line naming the source and the reason — and stores prepared images content-addressed, so
the same picture attached twice is kept once.

Reading the bytes (caps, timeouts, data URIs) lives in ``images_fetch``; this module decodes
and normalises. Pixel cap: Pillow only *warns* between its limit and twice its limit, so the
decode runs with ``DecompressionBombWarning`` turned into an error (``warnings`` filters are
process-wide; a lock keeps concurrent decodes from restoring each other's filters) and our
own, lower ``max_pixels`` is checked from the header before any pixel is decoded. The
effective cap is the smaller of ``max_pixels`` and Pillow's ``Image.MAX_IMAGE_PIXELS``,
which is left untouched.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from workbench.core.atomic import atomic_write_bytes
from workbench.core.errors import ImageError, InputError, one_line
from workbench.core.images.fetch import RawImage, read_file, read_source

MIB = 1024 * 1024
DEFAULT_MAX_SIDE = 2048
DEFAULT_MAX_BYTES = 20 * MIB
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_TIMEOUT_S = 10.0
# Formats a model could want. Never EPS (Pillow runs Ghostscript on it) nor formats whose
# sniffing is so loose that random bytes pass for them (TGA).
FORMATS = ("PNG", "JPEG", "MPO", "GIF", "WEBP", "BMP", "TIFF", "ICO", "AVIF")
PNG_LEVEL = 6
WHITE = (255, 255, 255, 255)
ROTATING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")

_decode_lock = threading.Lock()


@dataclass(frozen=True)
class PreparedImage:
    """An attachment ready for a vision model.

    ``image`` is 8-bit RGB, upright, its longest side at most the requested ``max_side``.
    ``source`` is the display form of where it came from (path, URL, or
    ``"data URI (N bytes)"``); ``format`` the decoded file format (``"PNG"``, ``"JPEG"``…);
    ``sha256`` the hex digest of ``png``, the normalised PNG encoding, which names the
    stored file. Equality compares everything but the pixels and the PNG bytes.
    """

    image: Image.Image = field(compare=False, repr=False)
    source: str
    original_size: tuple[int, int]
    sent_size: tuple[int, int]
    format: str
    sha256: str
    png: bytes = field(compare=False, repr=False)
    animated: bool = False  # only the first frame was kept

    def size_line(self) -> str:
        """``"4032×3024 → 2048×1536"`` when resized, else just ``"800×600"``."""
        original = _dims(self.original_size)
        if self.sent_size == self.original_size:
            return original
        return f"{original} → {_dims(self.sent_size)}"


def prepare_image(
    source: str,
    max_side: int = DEFAULT_MAX_SIDE,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> PreparedImage:
    """Read, check, decode and normalise the image at ``source``.

    ``source`` is a file path (``~`` and ``file://`` accepted), an ``http(s)://`` URL, or a
    ``data:image/...;base64,`` URI. Raises ``ImageError`` (one line: source and reason) for
    anything unusable, ``InputError`` for nonsensical limits.
    """
    _check_limits(max_side, max_bytes, max_pixels, timeout)
    raw = read_source(source, max_bytes, timeout)
    decoded = _decode(raw, max_side, max_pixels)
    png = encode_png(decoded.image)
    return PreparedImage(
        image=decoded.image,
        source=raw.display,
        original_size=decoded.original_size,
        sent_size=decoded.image.size,
        format=decoded.format,
        sha256=hashlib.sha256(png).hexdigest(),
        png=png,
        animated=decoded.animated,
    )


def load_image_file(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Open a stored (already prepared) image as RGB, with the same checks, never resized."""
    raw = read_file(str(path), max_bytes)
    return _decode(raw, None, max_pixels).image


def save_prepared(prepared: PreparedImage, folder: Path) -> Path:
    """Store ``prepared`` as ``folder/<sha256>.png`` and return that path.

    Content-addressed: the same picture is stored once; a later save of it finds the file
    and writes nothing. The write is atomic (temporary file, fsync, rename), so a crash
    never leaves a half-written image under its final name.
    """
    dest = folder / f"{prepared.sha256}.png"
    try:
        if dest.is_file() and dest.stat().st_size == len(prepared.png):
            return dest
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest, prepared.png)
    except OSError as exc:
        raise ImageError(f"cannot store image in {folder}: {exc.strerror or exc}") from None
    return dest


def encode_png(image: Image.Image) -> bytes:
    """Deterministic PNG bytes of ``image`` (no metadata, fixed compression)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return buffer.getvalue()


def fit_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """``size`` scaled so its longest side is at most ``max_side``; never upscaled."""
    width, height = size
    longest = max(width, height)
    if max_side is None or longest <= max_side:
        return size
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Decoded:
    image: Image.Image
    original_size: tuple[int, int]
    format: str
    animated: bool


def _check_limits(max_side: int, max_bytes: int, max_pixels: int, timeout: float) -> None:
    if max_side < 1:
        raise InputError(f"max image side must be at least 1 pixel (got {max_side})")
    if max_bytes < 1 or max_pixels < 1:
        raise InputError("image byte and pixel limits must be positive")
    if not timeout > 0:
        raise InputError(f"image download timeout must be positive (got {timeout})")


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _decode(raw: RawImage, max_side: int | None, max_pixels: int) -> _Decoded:
    """Decode under the pixel caps, first frame only, upright, RGB, fitted to ``max_side``."""
    image, fmt, original, animated = _open_guarded(raw, max_side, max_pixels)
    mode = image.mode
    try:
        image = _resize(to_rgb(to_srgb(image)), fit_size(original, max_side))
    except (ValueError, OSError) as exc:
        raise ImageError(f"{raw.label}: cannot convert {mode} pixels ({_reason(exc)})") from None
    image.info = {}  # no EXIF (location!), ICC or text chunks travel with the picture
    return _Decoded(image, original, fmt, animated)


def _open_guarded(
    raw: RawImage, max_side: int | None, max_pixels: int
) -> tuple[Image.Image, str, tuple[int, int], bool]:
    """Open and fully decode the first frame, with every Pillow failure made one line."""
    label = raw.label
    try:
        with _decode_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw.data), formats=_formats())
            fmt = image.format or "unknown"
            _check_pixels(label, image.size, max_pixels)
            animated = bool(getattr(image, "is_animated", False))
            original = _upright_size(image)
            _draft(image, fit_size(original, max_side), original)
            image.load()  # inside the guard: truncated data fails here, not later
            _check_pixels(label, image.size, max_pixels)  # a GIF frame may grow the canvas
            ImageOps.exif_transpose(image, in_place=True)
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError(f"{label}: not an image (cannot identify image file)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
        raise ImageError(f"{label}: too many pixels (over the {_mpx(limit)} limit)") from None
    except MemoryError:
        raise ImageError(f"{label}: not enough memory to decode this image") from None
    except Exception as exc:  # Pillow's plugins signal damaged data with many types
        raise ImageError(f"{label}: damaged or truncated image ({_reason(exc)})") from None
    return image, fmt, original, animated


def _formats() -> tuple[str, ...]:
    Image.init()
    return tuple(name for name in FORMATS if name in Image.OPEN)


def _check_pixels(label: str, size: tuple[int, int], max_pixels: int) -> None:
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise ImageError(
            f"{label}: {_dims(size)} is {_mpx(pixels)}, over the {_mpx(max_pixels)} limit"
        )


def _mpx(pixels: int) -> str:
    """A pixel count for people: ``64 Mpx``, ``1.5 Mpx``, ``1,200 pixels``."""
    if pixels < 1_000_000:
        return f"{pixels:,} pixels"
    value = pixels / 1_000_000
    return f"{value:.0f} Mpx" if value >= 10 else f"{value:.1f} Mpx"


def _reason(exc: BaseException) -> str:
    return one_line(exc, limit=120)


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The size as the picture is meant to be seen (EXIF orientation applied)."""
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in ROTATING_ORIENTATIONS else (width, height)


def _draft(image: Image.Image, target: tuple[int, int], upright: tuple[int, int]) -> None:
    """Let the JPEG decoder skip detail we would throw away (DCT scaling, ≥ target size)."""
    if image.format not in ("JPEG", "MPO") or target == upright:
        return
    swapped = upright != image.size
    wanted = (target[1], target[0]) if swapped else target
    image.draft(None, wanted)


def _resize(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    if image.size == target:
        return image
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def to_srgb(image: Image.Image) -> Image.Image:
    """RGB or CMYK pixels converted from their embedded ICC profile to sRGB (as RGB).

    Phone photos in Display P3 and print CMYK files look wrong read as plain sRGB. Images
    without a profile, already sRGB, or with a profile LittleCMS cannot use, pass unchanged.
    """
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "CMYK"):
        return image
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without LittleCMS
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if "srgb" in ImageCms.getProfileDescription(source).lower().replace(" ", ""):
            return image
        srgb = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: alpha over white, 16-bit and float scaled, CMYK converted."""
    if image.mode == "RGB":
        return image
    if image.mode in SIXTEEN_BIT_MODES or image.mode in ("I", "F"):
        image = _to_8bit_gray(image)
    if image.mode == "P":
        image = image.convert("RGBA")  # honours palette transparency
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, WHITE)
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit integer / float grey as 8-bit ``L``, scaled (never clipped to white).

    ``I;16*`` is 0..65535. ``I`` (32-bit) is read as 16-bit when any value exceeds 255 and
    as 8-bit otherwise. ``F`` is read as 0..1 when its maximum is at most 1, else 0..255.
    """
    import numpy as np

    values = np.asarray(image)
    if image.mode == "F":
        scale = 255.0 if float(values.max(initial=0.0)) <= 1.0 else 1.0
        return Image.fromarray(np.clip(values * scale, 0, 255).round().astype(np.uint8))
    wide = np.clip(values.astype(np.int64), 0, 65535)
    if image.mode in SIXTEEN_BIT_MODES or int(wide.max(initial=0)) > 255:
        wide = (wide * 255 + 32767) // 65535
    return Image.fromarray(wide.astype(np.uint8))
