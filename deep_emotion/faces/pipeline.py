"""The one face path: a file (bytes or a path) -> decoded image -> faces -> aligned crops.

Every caller that turns a photo into network input goes through ``read_faces``: the CLI
(``faces``, ``predict``, ``explain``), the dashboard and the JAFFE loader.  The crop side is
the checkpoint's ``Preprocessing.size`` (the card's), so no caller hard-codes a size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deep_emotion.faces.align import align_face
from deep_emotion.faces.decode import (MAX_BYTES, MAX_PIXELS, DecodedImage, FaceImageError,
                                       decode_image)
from deep_emotion.faces.detect import MIN_FACE_PIXELS, MIN_SCORE, Face, detect_faces

__all__ = ["FacePhoto", "read_faces"]


@dataclass(frozen=True)
class FacePhoto:
    """What ``read_faces`` found in one file.

    image:    the decoded file (``image.notes`` says what was done to it).
    faces:    detected faces, largest first; empty when none was found or detection was off.
    crops:    uint8 (size, size) grayscale crops framed like FER2013, ``crops[i]`` from
              ``faces[i]``; with detection off, one crop of the whole image; when no face was
              found, empty (the whole image is then an explicit choice: ``whole_image()``).
    size:     the crops' side in pixels.
    detection_ran: whether detection ran (False: the file was taken as a face crop); see
              ``faces`` for whether it found any.
    """

    image: DecodedImage
    faces: tuple[Face, ...]
    crops: tuple[np.ndarray, ...]
    size: int
    detection_ran: bool = True

    def whole_image(self) -> np.ndarray:
        """uint8 (size, size): the largest centred square of the image, as if it were a face."""
        return align_face(self.image.rgb, None, self.size)

    @property
    def too_small(self) -> bool:
        """True when the image is smaller than the smallest face the detector looks for, so
        'no face found' says nothing about its content."""
        return min(self.image.size) < MIN_FACE_PIXELS


def _read(source: bytes | Path, name: str | None, max_bytes: int) -> tuple[bytes, str | None]:
    """The bytes of ``source`` and the name to use in messages; a path is read only when it
    is a file within the byte limit (a 5 GB file is refused by its size, unread)."""
    if not isinstance(source, Path):
        return source, name
    name = name or str(source)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    if source.stat().st_size > max_bytes:
        raise FaceImageError(f"{name}: the file is {source.stat().st_size / 2**20:.1f} MB; "
                             f"the limit is {max_bytes / 2**20:.0f} MB")
    return source.read_bytes(), name


def read_faces(source: bytes | Path, *, size: int, detect: bool = True, name: str | None = None,
               min_score: float = MIN_SCORE, max_bytes: int = MAX_BYTES,
               max_pixels: int = MAX_PIXELS) -> FacePhoto:
    """Decode a file, find its faces and crop each one for the network.

    Args:
        source: the file's bytes (uploads stay in memory), or a path to read.
        size: side of the crops: the checkpoint's ``Preprocessing.size`` (``FRAME`` for data
            stored in FER2013's own 48 px framing).
        detect: False takes the whole image as the face (files that already are face crops).
        name: the file's name for messages (a path's own name by default); its extension is
            never trusted, the content decides the format.
        min_score: faces the detector scores below this are dropped.
        max_bytes, max_pixels: limits passed to ``decode_image``.

    Returns:
        FacePhoto with ``crops[i]`` uint8 (size, size) for ``faces[i]``.

    Raises:
        FaceImageError: the file is not an acceptable image (the message says why).
        FileNotFoundError: ``source`` is a path to no file.

    Example::

        >>> photo = read_faces(Path("group.jpg"), size=checkpoint.preprocessing.size)
        >>> [f.box for f in photo.faces], photo.crops[0].shape
        ([(412, 80, 96, 118), ...], (48, 48))
    """
    data, name = _read(source, name, max_bytes)
    image = decode_image(data, name=name, max_bytes=max_bytes, max_pixels=max_pixels)
    if not detect:
        return FacePhoto(image, (), (align_face(image.rgb, None, size),), size, detection_ran=False)
    faces = tuple(detect_faces(image.rgb, min_score=min_score))
    return FacePhoto(image, faces, tuple(align_face(image.rgb, f, size) for f in faces), size)
