"""Faces from real photos: safe decoding, offline detection, alignment to FER2013's framing.

The path every photo takes (CLI, dashboard, JAFFE loader) is one call, ``read_faces``::

    bytes or path --decode_image--> DecodedImage.rgb --detect_faces--> [Face, ...] (largest
    first) --align_face--> uint8 (size, size) grayscale crops, framed like FER2013
    (ALIGNMENT_NAME), size from the checkpoint's card

Every problem with the bytes raises ``FaceImageError`` with a message meant for the person
who uploaded them.  Uploads stay in memory.
"""

from deep_emotion.faces.align import ALIGNMENT_NAME, align_face, alignment_matrix
from deep_emotion.faces.decode import (MAX_BYTES, MAX_PIXELS, DecodedImage, FaceImageError,
                                       decode_image)
from deep_emotion.faces.detect import DETECTOR_NAME, LANDMARKS, MIN_SCORE, Face, detect_faces
from deep_emotion.faces.framing import FER2013_LANDMARKS, FRAME
from deep_emotion.faces.pipeline import FacePhoto, read_faces

__all__ = [
    "read_faces", "FacePhoto",
    "FaceImageError", "DecodedImage", "decode_image", "MAX_BYTES", "MAX_PIXELS",
    "Face", "detect_faces", "LANDMARKS", "DETECTOR_NAME", "MIN_SCORE",
    "align_face", "alignment_matrix", "ALIGNMENT_NAME",
    "FER2013_LANDMARKS", "FRAME",
]
