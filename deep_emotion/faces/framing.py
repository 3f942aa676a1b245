"""Where FER2013 puts a face in its 48x48 frame, measured from FER2013 itself.

``FER2013_LANDMARKS`` gives the median position of the five MTCNN landmarks over FER2013
Training faces, in pixel coordinates of the 48x48 frame (pixel i's centre is at i; x to the
right, y down; ``left_eye`` is the eye on the image's left).  Alignment maps a photo's landmarks
onto these points, and ``deep_emotion.explain`` derives named face regions from them.

How they were measured (``bench/measure_framing.py``, re-run it to check):
    a seeded random sample of 5,000 Training faces (seed 0) went through ``detect_faces``,
    which enlarges a 48 px image 4x (bicubic) and pads it by a quarter; MTCNN found a face
    (score >= 0.9) in 4,331 of them (87%); the per-coordinate median over those is below.
    Interquartile ranges are 2.5-3 px for the eyes and 3.4-4.2 px for nose and mouth:
    FER2013's own crops vary that much, so an aligned photo within a pixel or two of these
    points is framed like a typical FER2013 face.  Cross-check: on the mean Training face
    MTCNN puts the eyes at (14.0, 17.6) and (33.9, 17.6), the nose at (23.4, 28.5) and the
    mouth corners at (15.7, 37.1) and (31.1, 38.0), within about a pixel of the medians.

The values are committed so nothing needs the dataset at run time.
"""

from __future__ import annotations

__all__ = ["FRAME", "FER2013_LANDMARKS"]

FRAME = 48  # FER2013's side in pixels

FER2013_LANDMARKS: dict[str, tuple[float, float]] = {
    "left_eye": (14.72, 18.36),
    "right_eye": (32.78, 17.97),
    "nose": (23.77, 28.45),
    "mouth_left": (16.46, 37.39),
    "mouth_right": (31.36, 37.10),
}
