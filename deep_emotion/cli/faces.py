"""``deep-emotion faces IMAGE...``: the faces found in photos, with boxes, landmarks and scores.

Runs the same path as the dashboard (``deep_emotion.faces.read_faces``): safe decoding, MTCNN
detection, largest face first.  A file that is not an acceptable image stops the command with a one-line
message naming it (exit status 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deep_emotion.faces import DETECTOR_NAME, FRAME, FacePhoto, read_faces

NAME = "faces"
HELP = "find the faces in photos (boxes, landmarks, scores)"
NO_FACE = "no face found; `deep-emotion predict --no-detect` uses the whole image as the face"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, help="photos (JPEG, PNG, WebP, BMP, "
                                                             "TIFF, GIF)")


def image_summary(path: Path, photo: FacePhoto) -> dict:
    """The per-image part of the JSON that ``faces`` and ``predict`` share (no face count when
    detection was off: ``predict --no-detect``)."""
    image = photo.image
    summary = {"image": str(path), "format": image.format, "size": list(image.size),
               "notes": image.notes}
    if photo.detection_ran:
        summary["faces_found"] = len(photo.faces)
        if not photo.faces:
            summary["message"] = NO_FACE
    return summary


def run(args: argparse.Namespace) -> dict:
    results = []
    for path in args.images:
        photo = read_faces(path, size=FRAME)  # crops unused here: FER2013's own frame
        results.append({**image_summary(path, photo), "faces": [f.to_dict() for f in photo.faces]})
    return {"detector": DETECTOR_NAME, "results": results}


def render(result: dict) -> str:
    lines = []
    for r in result["results"]:
        notes = f" ({'; '.join(r['notes'])})" if r["notes"] else ""
        lines.append(f"{r['image']}: {r['faces_found']} face(s), {r['size'][0]}x{r['size'][1]} "
                     f"{r['format']}{notes}")
        if not r["faces"]:
            lines.append(f"  {r['message']}")
        for i, f in enumerate(r["faces"], 1):
            x, y, w, h = f["box"]
            lines.append(f"  face {i}: box x={x} y={y} w={w} h={h}, score {f['score']:.3f}")
    return "\n".join(lines)
