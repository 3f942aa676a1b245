"""Decoding untrusted image bytes into an RGB array, or one clear error.

Uploads come from phones, screenshots and the open internet, so the bytes are checked before
any pixel is decoded: the byte size, the container (only JPEG, PNG, WebP, BMP, TIFF, GIF, found
by content, never by file name), and the size the header declares, because a 100 KB PNG can
declare 30000x30000 pixels (2.7 GB of RGB).  Pillow reads only the header at ``Image.open``,
so a bomb is refused in milliseconds without allocating it.  Every failure becomes a
``FaceImageError`` whose message a person can act on; no partial decode is passed on.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["FaceImageError", "DecodedImage", "decode_image", "MAX_BYTES", "MAX_PIXELS",
           "FORMATS", "BACKGROUND"]

MAX_BYTES = 30 * 2**20  # 30 MiB: a 50 MP phone JPEG is ~25 MB; larger uploads are not photos
MAX_PIXELS = 40_000_000  # 40 MP: 160 MB as RGBA; keeps one upload far below 1 GB peak memory
# Pillow format id -> the file extensions that usually name it (only used in notes).
FORMATS: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",), "WEBP": (".webp",),
    "BMP": (".bmp", ".dib"), "TIFF": (".tif", ".tiff"), "GIF": (".gif",),
}
BACKGROUND = (128, 128, 128)  # transparency is composited onto mid-grey, neither face nor shadow
_STRIP_ROWS = 256  # rows composited at a time (6000 px wide: 24 MB of uint32 per strip)
_ORIENTATION = 0x0112  # the EXIF tag phones set instead of rotating the pixels


class FaceImageError(ValueError):
    """Bytes that are not an image we accept; ``str(e)`` is a sentence for the person uploading.

    Raised for: empty or oversized files, formats other than ``FORMATS`` (SVG, HEIC, PDF,
    text, ...), declared sizes above the pixel limit (decompression bombs), and truncated or corrupted data.
    """


@dataclass(frozen=True)
class DecodedImage:
    """A decoded upload.

    rgb:    uint8 (H, W, 3) pixels, EXIF orientation applied, transparency composited.
    format: the container found in the bytes ("JPEG", "PNG", ...).
    notes:  what was done that a person may want to know ("first frame of 12 used", ...).
    """

    rgb: np.ndarray
    format: str
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _name_note(name: str | None, fmt: str) -> list[str]:
    """A note when the file's extension names another format than its content: the content
    decides (a JPEG saved as ``photo.heic`` or ``photo.png`` is read as the JPEG it is)."""
    ext = PurePath(name).suffix.lower() if name else ""
    if not ext or ext in FORMATS[fmt]:
        return []
    return [f"read as {fmt}, which its content is, although its name ends in {ext}"]


def _to_rgb(im: Image.Image, notes: list[str]) -> np.ndarray:
    """Any accepted mode -> uint8 (H, W, 3)."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit (and wider) samples are scaled to 8 bits, never clipped: Pillow's own
        # convert("L") clips I;16 at 255 and would turn most 16-bit photos white.
        a = np.asarray(im, dtype=np.float32)  # 160 MB at 40 MP; float64 would double it
        lo, hi = float(a.min()), float(a.max())
        if mode.startswith("I;16") or (lo >= 0 and hi <= 65535):
            lo, hi = 0.0, 65535.0
            notes.append("16-bit samples scaled to 8 bits")
        else:
            notes.append(f"{mode} samples stretched from [{lo:g}, {hi:g}] to 0..255")
        a -= lo  # in place: a 40 MP upload holds one float copy, not three
        a *= 255.0 / (hi - lo or 1.0)
        np.rint(a, out=a)
        return np.repeat(a.astype(np.uint8)[:, :, None], 3, axis=2)
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("LA", "RGBA", "La", "RGBa"):
        if im.getextrema()[-1][0] < 255:
            notes.append("transparent areas filled with grey")
            return _composite(im)
    elif im.mode not in ("1", "L", "RGB", "CMYK", "YCbCr", "LAB", "HSV"):
        raise FaceImageError(f"unsupported pixel format {im.mode!r}; save the image as an "
                             "ordinary RGB or grayscale JPEG or PNG")
    if im.mode != "RGB":
        im = im.convert("RGB")  # (convert() to the same mode would copy 120 MB at 40 MP)
    return np.asarray(im, dtype=np.uint8)


def _composite(im: Image.Image) -> np.ndarray:
    """Pixels with alpha -> uint8 (H, W, 3) over ``BACKGROUND``, a strip of rows at a time.

    Pillow's ``alpha_composite`` needs a full-size background and result next to the image;
    at 40 MP that is three 160 MB copies, and strips keep a single upload under 1 GB.
    """
    width, height = im.size
    out = np.empty((height, width, 3), np.uint8)
    background = np.array(BACKGROUND, np.uint32)
    for top in range(0, height, _STRIP_ROWS):
        box = (0, top, width, min(height, top + _STRIP_ROWS))
        strip = np.asarray(im.crop(box).convert("RGBA"), dtype=np.uint32)
        alpha = strip[:, :, 3:]
        blended = (strip[:, :, :3] * alpha + background * (255 - alpha) + 127) // 255
        out[box[1]:box[3]] = blended.astype(np.uint8)
    return out


def _check_size(data: bytes, label: str, max_bytes: int) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image wants bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise FaceImageError(f"{label}the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise FaceImageError(f"{label}the file is {len(data) / 2**20:.1f} MB; the limit is "
                             f"{max_bytes / 2**20:.0f} MB")


def _open_rgb(data: bytes, label: str, max_pixels: int, notes: list[str]) -> tuple[str, np.ndarray]:
    """Open, check the declared size, pick the first frame, turn upright: (format, rgb)."""
    with Image.open(io.BytesIO(data), formats=list(FORMATS)) as im:
        # Phones write MPO: a JPEG followed by extra pictures (depth map, preview);
        # Pillow's JPEG opener reports it as "MPO", and its first frame is the photo.
        fmt = "JPEG" if im.format == "MPO" else im.format or "unknown"
        width, height = im.size
        if width * height > max_pixels:
            raise FaceImageError(
                f"{label}the image declares {width}x{height} pixels "
                f"({width * height / 1e6:.0f} MP); the limit is {max_pixels / 1e6:.0f} MP")
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            im.seek(0)
            kind = {"TIFF": "page", "JPEG": "picture"}.get(fmt, "frame")
            notes.append(f"first {kind} of {frames} used")
        im.load()
        orientation = im.getexif().get(_ORIENTATION, 1)
        if orientation not in (None, 1):
            im = ImageOps.exif_transpose(im)
            notes.append(f"turned upright from its EXIF orientation ({orientation})")
        return fmt, _to_rgb(im, notes)


def decode_image(data: bytes, *, name: str | None = None, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Decode untrusted bytes into RGB pixels, refusing anything unsafe or ambiguous.

    Args:
        data: the file's bytes (kept in memory; never written to disk).
        name: the file name, if known: it prefixes error messages; an extension that names
            another format than the content adds a note (the content decides).
        max_bytes: refuse larger files before parsing anything.
        max_pixels: refuse images whose header declares more pixels (width x height), before
            decoding them.

    Returns:
        DecodedImage with ``rgb`` uint8 (H, W, 3), EXIF-rotated, and ``notes``.

    Raises:
        FaceImageError: for every way the bytes can fail (see the class docstring).

    Examples::

        >>> import io; from PIL import Image
        >>> buf = io.BytesIO(); Image.new("L", (4, 3)).save(buf, "PNG")
        >>> decode_image(buf.getvalue()).rgb.shape
        (3, 4, 3)
    """
    label = f"{name}: " if name else ""
    _check_size(data, label, max_bytes)
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns below 2x its limit; ours is stricter anyway.
            # Its truncation warnings (TIFF tags) mean data is missing: refuse, don't guess.
            # Other warnings (odd EXIF, palette quirks) are about metadata we do not use.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.filterwarnings("error", message=".*[Tt]runcated")
            fmt, rgb = _open_rgb(data, label, max_pixels, notes)
    except FaceImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Pillow refuses at open(), before we can read the size; its message holds the count.
        found = re.search(r"\((\d+) pixels\)", str(e))
        declared = f"{int(found.group(1)) / 1e6:,.0f} MP" if found else "more than " \
            f"{Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        raise FaceImageError(f"{label}the image declares {declared}; the limit is "
                             f"{max_pixels / 1e6:.0f} MP") from None
    except UnidentifiedImageError:
        raise FaceImageError(f"{label}this is not an image we can read; use a JPEG, PNG, WebP, "
                             "BMP, TIFF or GIF photo (SVG, HEIC, PDF and text are not accepted)"
                             ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, UserWarning) as e:
        raise FaceImageError(f"{label}the image data is truncated or corrupted ({e}); "
                             "try exporting the photo again") from None
    return DecodedImage(rgb=rgb, format=fmt, notes=_name_note(name, fmt) + notes)
