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
# Pillow format id -> the file extensions that may name it (a different one is a lie).
FORMATS: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",), "WEBP": (".webp",),
    "BMP": (".bmp", ".dib"), "TIFF": (".tif", ".tiff"), "GIF": (".gif",),
}
BACKGROUND = (128, 128, 128)  # transparency is composited onto mid-grey, neither face nor shadow
_STRIP_ROWS = 256  # rows composited at a time (6000 px wide: 24 MB of uint32 per strip)
_ORIENTATION = 0x0112  # the EXIF tag phones set instead of rotating the pixels
_KNOWN_EXTENSIONS = {ext: fmt for fmt, exts in FORMATS.items() for ext in exts}


class FaceImageError(ValueError):
    """Bytes that are not an image we accept; ``str(e)`` is a sentence for the person uploading.

    Raised for: empty or oversized files, formats other than ``FORMATS`` (SVG, HEIC, PDF,
    text, ...), a file name whose extension names another format than the bytes hold,
    declared sizes above the pixel limit (decompression bombs), and truncated or corrupted data.
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


def _check_name(name: str | None, fmt: str) -> None:
    if name is None:
        return
    ext = PurePath(name).suffix.lower()
    claimed = _KNOWN_EXTENSIONS.get(ext)
    if claimed is not None and claimed != fmt:
        raise FaceImageError(f"{name}: the name says {claimed} but the file holds {fmt} data; "
                             "save it again with its real type")


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


def decode_image(data: bytes, *, name: str | None = None, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Decode untrusted bytes into RGB pixels, refusing anything unsafe or ambiguous.

    Args:
        data: the file's bytes (kept in memory; never written to disk).
        name: the file name, if known: only its extension is checked against the content,
            and it prefixes error messages.
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
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image wants bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise FaceImageError(f"{label}the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise FaceImageError(f"{label}the file is {len(data) / 2**20:.1f} MB; the limit is "
                             f"{max_bytes / 2**20:.0f} MB")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns below 2x its limit; ours is stricter anyway.
            # Its truncation warnings (TIFF tags) mean data is missing: refuse, don't guess.
            # Other warnings (odd EXIF, palette quirks) are about metadata we do not use.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.filterwarnings("error", message=".*[Tt]runcated")
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as im:
                # Phones write MPO: a JPEG followed by extra pictures (depth map, preview);
                # Pillow's JPEG opener reports it as "MPO", and its first frame is the photo.
                fmt = "JPEG" if im.format == "MPO" else im.format or "unknown"
                _check_name(name, fmt)
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
                rgb = _to_rgb(im, notes)
    except FaceImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Pillow refuses at open(), before we can read the size; its message carries the count.
        declared = re.search(r"\((\d+) pixels\)", str(e))
        size = (f"{int(declared[1]) / 1e6:.0f} MP" if declared
                else f"more than {Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP")
        raise FaceImageError(f"{label}the image declares {size}; the limit is "
                             f"{max_pixels / 1e6:.0f} MP") from None
    except UnidentifiedImageError:
        raise FaceImageError(f"{label}this is not an image we can read; use a JPEG, PNG, WebP, "
                             "BMP, TIFF or GIF photo (SVG, HEIC, PDF and text are not accepted)"
                             ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, UserWarning) as e:
        raise FaceImageError(f"{label}the image data is truncated or corrupted ({e}); "
                             "try exporting the photo again") from None
    return DecodedImage(rgb=rgb, format=fmt, notes=notes)

