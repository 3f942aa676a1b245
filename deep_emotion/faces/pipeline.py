"""The whole path in one call: bytes -> decoded image -> faces -> aligned 48x48 crops."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from deep_emotion.faces.align import align_face
from deep_emotion.faces.decode import MAX_BYTES, MAX_PIXELS, DecodedImage, decode_image
from deep_emotion.faces.detect import Face, detect_faces
from deep_emotion.faces.framing import FRAME

__all__ = ["FacePhoto", "faces_from_bytes"]


class FacePhoto(NamedTuple):
    """What ``faces_from_bytes`` found; unpacks as ``image, faces, crops``.

    image: the decoded upload (``image.notes`` says what was done to it).
    faces: detected faces, largest first; empty when none was found or detection was off.
    crops: uint8 (size, size) grayscale crops, ``crops[i]`` from ``faces[i]``; when detection
           was off, one crop of the whole image; when no face was found, empty (offer
           ``align_face(image.rgb, None)``, the whole image as the face).
    """

    image: DecodedImage
    faces: list[Face]
    crops: list[np.ndarray]


def faces_from_bytes(data: bytes, *, name: str | None = None, detect: bool = True,
                     size: int = FRAME, max_bytes: int = MAX_BYTES,
                     max_pixels: int = MAX_PIXELS) -> FacePhoto:
    """Decode, detect and align every face in an uploaded file.

    Args:
        data: the file's bytes.
        name: its file name, if known (extension checked, used in messages).
        detect: False takes the whole image as the face (already-cropped faces).
        size: side of the crops (the checkpoint's ``Preprocessing.size``).
        max_bytes, max_pixels: limits passed to ``decode_image``.

    Raises:
        FaceImageError: when the bytes are not an acceptable image.
    """
    image = decode_image(data, name=name, max_bytes=max_bytes, max_pixels=max_pixels)
    if not detect:
        return FacePhoto(image, [], [align_face(image.rgb, None, size)])
    faces = detect_faces(image.rgb)
    return FacePhoto(image, faces, [align_face(image.rgb, f, size) for f in faces])
