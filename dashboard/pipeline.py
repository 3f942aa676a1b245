"""Photo -> faces -> prediction -> maps, as plain NumPy results the pages can cache and draw.

This module is the one seam between the dashboard and ``deep_emotion``'s face pipeline and
explainers.  It calls ``deep_emotion.faces`` and ``deep_emotion.explain`` when they are
installed; while either is missing (they are built in parallel) a small, clearly labelled
fallback keeps the page usable, and ``capabilities()`` tells the page what it is running on.
Nothing here imports streamlit, so every function is testable on its own.
"""

from __future__ import annotations

import importlib
import io
import json
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from deep_emotion.model import ALIGN_CORNERS
from deep_emotion.predict import predict_proba

__all__ = ["PhotoError", "Photo", "FaceBox", "read_photo", "aligned_photo", "crop_face", "explain_face",
           "capabilities", "METHODS", "BASELINES", "report_json", "maps_npz", "maps_png"]

# Attribution methods the page offers, in the order it lists them (occlusion is always shown).
METHODS = ("occlusion", "flip", "saliency", "ig", "smoothgrad", "gradcam", "guided-gradcam")
# Occlusion patch fill, as a pixel intensity: black (the paper's), mid-gray, or the face's mean.
BASELINES = ("black", "gray", "mean")
FACE_SIDE = 48


class PhotoError(Exception):
    """The upload is not a usable photo; the message says why and what to try instead."""


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _faces():
    """``deep_emotion.faces`` when its public API is complete, else None (use the fallback)."""
    mod = _optional("deep_emotion.faces")
    names = ("decode_image", "detect_faces", "align_face", "FaceImageError")
    return mod if mod is not None and all(hasattr(mod, n) for n in names) else None


def capabilities() -> dict[str, bool]:
    """Which parts of the core are installed (the page says when it runs on a fallback)."""
    return {"faces": _faces() is not None,
            "explain": _optional("deep_emotion.explain") is not None}


# --------------------------------------------------------------------------------------------
# Photos and faces
# --------------------------------------------------------------------------------------------

@dataclass
class FaceBox:
    box: tuple[int, int, int, int]  # x, y, width, height in photo pixels
    score: float = 1.0
    raw: object = None              # the face pipeline's own Face, passed back to align_face


@dataclass
class Photo:
    rgb: np.ndarray                 # uint8 (H, W, 3)
    faces: list[FaceBox]
    notes: list[str] = field(default_factory=list)
    detector: str = ""
    aligned: bool = False           # already a face framed like FER2013 (a dataset sample)


def read_photo(data: bytes, name: str | None = None) -> Photo:
    """Decode ``data`` in memory and find the faces in it.

    Raises:
        PhotoError: not an image, truncated, too large, or an unsupported format, with the
            face pipeline's reason.
    """
    faces_mod = _faces()
    if faces_mod is not None:
        try:
            decoded = faces_mod.decode_image(data, name=name or None)
            found = faces_mod.detect_faces(decoded.rgb)
        except faces_mod.FaceImageError as e:
            raise PhotoError(str(e)) from e
        boxes = [FaceBox(tuple(int(v) for v in f.box), float(getattr(f, "score", 1.0)), f)
                 for f in found]
        return Photo(np.asarray(decoded.rgb), boxes, list(getattr(decoded, "notes", []) or []),
                     "MTCNN (deep_emotion.faces)")
    return _fallback_read(data)


def aligned_photo(gray: np.ndarray) -> Photo:
    """A dataset face (uint8 (S, S), already framed like FER2013) as a photo of one face."""
    gray = np.asarray(gray, dtype=np.uint8)
    h, w = gray.shape
    return Photo(np.repeat(gray[..., None], 3, axis=2), [FaceBox((0, 0, w, h))],
                 ["a dataset face, already aligned: used as it is"], "none (dataset crop)", True)


def crop_face(photo: Photo, index: int | None) -> np.ndarray:
    """uint8 (48, 48) grayscale face ``index`` of ``photo`` (the whole photo when None)."""
    if photo.aligned:
        return _fallback_crop(photo.rgb, None)
    faces_mod = _faces()
    face = photo.faces[index] if index is not None and photo.faces else None
    if faces_mod is not None and (face is None or face.raw is not None):
        try:
            return np.asarray(faces_mod.align_face(photo.rgb, face.raw if face else None))
        except faces_mod.FaceImageError as e:
            raise PhotoError(str(e)) from e
    return _fallback_crop(photo.rgb, face.box if face else None)


def _fallback_read(data: bytes) -> Photo:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise PhotoError("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > 40_000_000:
                raise PhotoError(f"the image is {im.width}x{im.height}; photos up to 40 "
                                 "megapixels are accepted")
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise PhotoError(f"this file is not a readable image ({e.__class__.__name__}: {e}); "
                         "try a JPEG, PNG or WebP photo") from e
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    min_side = max(24, min(gray.shape) // 12)
    found = cascade.detectMultiScale(gray, 1.1, 5, minSize=(min_side, min_side))
    boxes = [FaceBox(tuple(int(v) for v in b)) for b in sorted(found, key=lambda b: -b[2] * b[3])]
    notes = [] if boxes else ["no face found: the centre of the photo is used"]
    return Photo(rgb, boxes, notes, "OpenCV Haar cascade (fallback)")


def _fallback_crop(rgb: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    if box is None:
        side = min(h, w)
        x, y = (w - side) // 2, (h - side) // 2
    else:
        x, y, bw, bh = box
        side = int(max(bw, bh) * 1.1)  # FER2013 crops are slightly looser than Haar boxes
        x, y = x + bw // 2 - side // 2, y + bh // 2 - side // 2
    im = Image.fromarray(rgb).convert("L").crop((x, y, x + side, y + side))
    return np.asarray(im.resize((FACE_SIDE, FACE_SIDE), Image.Resampling.BILINEAR), np.uint8)


# --------------------------------------------------------------------------------------------
# Explanations
# --------------------------------------------------------------------------------------------

def _input(face: np.ndarray, preprocessing) -> torch.Tensor:
    return preprocessing.to_input(torch.from_numpy(np.array(face, dtype=np.uint8, copy=True))[None])


def baseline_intensity(face: np.ndarray, baseline: str) -> float:
    """The pixel intensity (0..255) an occluded patch is filled with."""
    if baseline == "black":
        return 0.0
    if baseline == "gray":
        return 128.0
    if baseline == "mean":
        return float(np.asarray(face).mean())
    raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")


def _baseline_value(face: np.ndarray, baseline: str, preprocessing) -> float:
    return preprocessing.pixel_value(baseline_intensity(face, baseline))


def _stn_fallback(model, x: torch.Tensor, preprocessing) -> dict[str, np.ndarray]:
    """Where the spatial transformer looks: theta, the warped face, its outline and density."""
    with torch.no_grad():
        theta = model.theta(x)  # (1, 2, 3)
        side = x.shape[-1]
        grid = F.affine_grid(theta, [1, 1, side, side], align_corners=ALIGN_CORNERS)
        warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                               align_corners=ALIGN_CORNERS)
    # Grid coords in [-1, 1] -> pixel coords (align_corners=False: pixel centres at k + 0.5).
    pix = ((grid[0].numpy() + 1) * side - 1) / 2  # (S, S, 2) x, y
    edge = np.concatenate([pix[0, :], pix[:, -1], pix[-1, ::-1], pix[::-1, 0]])
    # Sampling density: how many output samples land on each input pixel, smoothed.
    xs = np.clip(np.round(pix[..., 0]).astype(int), -1, side)
    ys = np.clip(np.round(pix[..., 1]).astype(int), -1, side)
    inside = (xs >= 0) & (xs < side) & (ys >= 0) & (ys < side)
    density = np.zeros((side, side), np.float32)
    np.add.at(density, (ys[inside], xs[inside]), 1.0)
    import cv2
    density = cv2.GaussianBlur(density, (0, 0), 2.0)
    density /= density.max() or 1.0
    return {"theta": theta[0].numpy(), "warped": preprocessing.to_pixels(warped)[0, 0].numpy(),
            "outline": edge.astype(np.float32), "heatmap": density}


def _attribution_fallback(model, x, target: int, method: str, window: int, stride: int,
                          baseline) -> np.ndarray:
    from captum import attr

    if method == "occlusion":
        a = attr.Occlusion(model).attribute(x, target=target, sliding_window_shapes=(1, window, window),
                                            strides=(1, stride, stride), baselines=baseline,
                                            perturbations_per_eval=64)
    elif method == "flip":
        raise ValueError("the flip map needs deep_emotion.explain")
    elif method == "saliency":
        a = attr.Saliency(model).attribute(x, target=target, abs=True)
    elif method == "ig":
        a = attr.IntegratedGradients(model).attribute(x, target=target, baselines=baseline,
                                                      n_steps=32)
    elif method == "smoothgrad":
        a = attr.NoiseTunnel(attr.Saliency(model)).attribute(
            x, target=target, nt_type="smoothgrad", nt_samples=16, stdevs=0.2)
    elif method in ("gradcam", "guided-gradcam"):
        layer = model.features[3]  # the ReLU after the first pooling stage (22x22 maps)
        if method == "gradcam":
            a = attr.LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
            a = attr.LayerAttribution.interpolate(a, x.shape[-2:], "bilinear")
        else:
            a = attr.GuidedGradCam(model, layer).attribute(x, target=target)
    else:
        raise ValueError(f"unknown method {method!r}; one of {METHODS}")
    return a.detach()[0, 0].numpy().astype(np.float32)


def _agreement_fallback(a: np.ndarray, b: np.ndarray, top: float = 0.2) -> float:
    """IoU of the top ``top`` fraction of pixels of two maps."""
    k = max(1, int(a.size * top))
    ta = set(np.argsort(-a.ravel())[:k])
    tb = set(np.argsort(-b.ravel())[:k])
    return len(ta & tb) / len(ta | tb)


def _deletion_fallback(model, x, target: int, saliency: np.ndarray, baseline, steps: int = 16):
    """Probability of ``target`` as the most salient pixels are deleted first; (curve, AUC)."""
    order = np.argsort(-saliency.ravel())
    n = order.size
    base = baseline if isinstance(baseline, torch.Tensor) else torch.full_like(x, float(baseline))
    batch = []
    for i in range(steps + 1):
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.as_tensor(order[: round(n * i / steps)])] = True
        mask = mask.view_as(x[0, 0])
        batch.append(torch.where(mask, base[0, 0], x[0, 0]))
    with torch.no_grad():
        probs = torch.softmax(model(torch.stack(batch)[:, None]), 1)[:, target].numpy()
    auc = float(np.trapezoid(probs, dx=1.0 / steps))
    return probs.astype(np.float32), auc


def explain_face(checkpoint, face: np.ndarray, *, tta: str = "none", window: int = 8,
                 stride: int = 4, baseline: str = "black", methods: tuple[str, ...] = (),
                 target: int | None = None) -> dict:
    """Everything the Explain page draws for one 48x48 face, as NumPy arrays and floats.

    Args:
        checkpoint: a loaded ``deep_emotion.checkpoints.Checkpoint`` (never modified).
        face: uint8 (48, 48) grayscale face framed like FER2013.
        tta: test-time augmentation for the probabilities (``deep_emotion.predict.TTA_MODES``).
        window, stride: occlusion patch side and step in pixels.
        baseline: what occluded pixels become (``BASELINES``).
        methods: extra attribution methods from ``METHODS``.
        target: class index to explain; the predicted class when None.

    Returns:
        dict with ``probs`` (C,), ``target``, ``stn`` (theta, warped, outline, heatmap),
        ``maps`` {method: (48, 48) float32}, ``agreement`` (STN vs occlusion, 0..1),
        ``deletion`` {curve, auc} for the occlusion map, and ``backend`` names.
    """
    model, pre = checkpoint.model, checkpoint.preprocessing
    images = torch.from_numpy(np.array(face, dtype=np.uint8, copy=True))[None]
    probs = predict_proba(model, images, pre, tta=tta)[0].numpy()
    target = int(np.argmax(probs)) if target is None else int(target)
    wanted = ("occlusion",) + tuple(m for m in methods if m != "occlusion")
    core = _explain_api()
    if core is not None:
        return _explain_core(core, checkpoint, face, images, probs, target, wanted, window, stride,
                             baseline)
    x = _input(face, pre)
    base = _baseline_value(face, baseline, pre)
    backend = "fallback (Captum directly)"
    wanted = tuple(m for m in wanted if m != "flip")
    stn = _stn_fallback(model, x, pre)
    maps = {m: _attribution_fallback(model, x, target, m, window, stride, base) for m in wanted}
    occl = maps["occlusion"]
    curve, auc = _deletion_fallback(model, x, target, occl, base)
    return {"probs": probs.astype(np.float32), "target": target, "classes": list(checkpoint.classes),
            "stn": stn, "maps": maps, "agreement": _agreement_fallback(stn["heatmap"], occl),
            "agreement_name": "top-20% overlap (IoU)",
            "deletion": {"curve": curve, "auc": auc}, "backend": backend}


def _explain_api():
    """The explain modules this page needs, or None while they are not installed."""
    try:
        from deep_emotion.explain import face, metrics  # noqa: F401
    except ImportError:
        return None
    return face, metrics


def _explain_core(core, checkpoint, face, images, probs, target, wanted, window, stride,
                  baseline) -> dict:
    """``explain_face`` through ``deep_emotion.explain`` (the same code as the CLI)."""
    face_api, metrics = core
    model, pre = checkpoint.model, checkpoint.preprocessing
    params = {"occlusion": {"window": window, "stride": stride,
                            "baseline": baseline_intensity(face, baseline)},
              "flip": {"window": window, "stride": stride,
                       "baseline": baseline_intensity(face, baseline)}}
    out = face_api.explain_face(checkpoint, np.asarray(face, dtype=np.uint8), ("stn", *wanted),
                                target=target, params=params)
    stn_meta = out["stn"].meta
    stn = {"theta": np.asarray(stn_meta["theta"], np.float32),
           "warped": np.asarray(stn_meta["view"], np.float32),
           "outline": np.asarray(stn_meta["grid_outline"], np.float32)[:-1],  # drop the repeat
           "heatmap": out["stn"].map}
    maps = {m: out[m].map for m in wanted}
    x = pre.to_input(images)
    t = torch.tensor([target])
    as_batch = {"occlusion": torch.from_numpy(maps["occlusion"])[None],
                "stn": torch.from_numpy(stn["heatmap"])[None]}
    iou = float(metrics.topk_iou(as_batch["stn"], as_batch["occlusion"].abs(), 0.1)[0])
    rho = float(metrics.spearman(as_batch["stn"], as_batch["occlusion"])[0])
    deletion = metrics.deletion_curve(model, x, as_batch["occlusion"], t,
                                      baseline=pre.pixel_value(0.0))
    insertion = metrics.insertion_curve(model, x, as_batch["occlusion"], t)
    return {"probs": probs.astype(np.float32), "target": target, "classes": list(checkpoint.classes),
            "stn": stn, "maps": maps, "agreement": iou, "agreement_name": "top-10% overlap (IoU)",
            "spearman": rho,
            "deletion": {"curve": deletion.scores[0].numpy().astype(np.float32),
                         "auc": float(deletion.auc[0])},
            "insertion": {"curve": insertion.scores[0].numpy().astype(np.float32),
                          "auc": float(insertion.auc[0])},
            "meta": {m: {k: v for k, v in out[m].meta.items() if k not in ("view", "grid_outline")}
                     for m in out},
            "backend": "deep_emotion.explain"}


# --------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------

def maps_npz(face: np.ndarray, result: dict) -> bytes:
    """All maps of ``result`` plus the face, as an in-memory ``.npz``."""
    arrays = {"face": face, "probs": result["probs"], "theta": result["stn"]["theta"],
              "stn_heatmap": result["stn"]["heatmap"], "stn_warped": result["stn"]["warped"]}
    arrays |= {f"map_{k.replace('-', '_')}": v for k, v in result["maps"].items()}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def report_json(result: dict, context: dict) -> str:
    """A JSON report of one explanation: context (checkpoint, settings) and the numbers."""
    classes = result["classes"]
    return json.dumps({
        **context,
        "prediction": classes[result["target"]],
        "probabilities": {c: round(float(p), 6) for c, p in zip(classes, result["probs"])},
        "stn_theta": np.round(result["stn"]["theta"], 6).tolist(),
        "agreement_stn_vs_occlusion": {"value": round(float(result["agreement"]), 6),
                                       "measure": result["agreement_name"]},
        "spearman_stn_vs_occlusion": (round(float(result["spearman"]), 6)
                                      if "spearman" in result else None),
        "deletion_auc_occlusion": round(float(result["deletion"]["auc"]), 6),
        "insertion_auc_occlusion": (round(float(result["insertion"]["auc"]), 6)
                                    if "insertion" in result else None),
        "method_details": result.get("meta", {}),
        "methods": sorted(result["maps"]),
        "backend": result["backend"],
    }, indent=1)


def maps_png(face: np.ndarray, result: dict, titles: dict[str, str] | None = None) -> bytes:
    """One PNG: the face, the STN view and every map overlaid on the face with a colour bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    panels = [("face", None), ("STN warped view", "warped"), ("STN attention", "stn")]
    panels += [((titles or {}).get(m, m), m) for m in result["maps"]]
    fig = Figure(figsize=(2.4 * len(panels), 2.8), dpi=100)
    for i, (title, key) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        if key == "warped":
            ax.imshow(result["stn"]["warped"], cmap="gray", vmin=0, vmax=255)
            continue
        ax.imshow(face, cmap="gray", vmin=0, vmax=255)
        if key is None:
            continue
        heat = result["stn"]["heatmap"] if key == "stn" else result["maps"][key]
        im = ax.imshow(heat, cmap="inferno", alpha=0.55)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    classes = result["classes"]
    fig.suptitle(f"prediction: {classes[result['target']]} "
                 f"({float(result['probs'][result['target']]):.0%})", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
