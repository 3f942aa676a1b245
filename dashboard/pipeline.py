"""Photo -> faces -> prediction -> maps, as plain NumPy results the pages can cache and draw.

The one seam between the dashboard and the core: decoding, detection and alignment are
``deep_emotion.faces``; STN attention, attributions, agreement and faithfulness are
``deep_emotion.explain`` (the same code the CLI and the precomputed analyses run).  Nothing
here imports streamlit, so every function is testable on its own.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import torch

from deep_emotion import faces as face_pipeline
from deep_emotion.explain import face as face_explainer
from deep_emotion.explain import metrics
from deep_emotion.predict import predict_proba

__all__ = ["PhotoError", "Photo", "FaceBox", "read_photo", "aligned_photo", "crop_face",
           "explain_face", "detector_warm_up", "METHODS", "BASELINES", "AGREEMENT_TOP",
           "report_json", "maps_npz", "maps_png"]

# Attribution methods the page offers beside occlusion (always shown), in the order listed.
METHODS = ("occlusion", "flip", "saliency", "ig", "smoothgrad", "gradcam", "guided-gradcam")
# Occlusion patch fill, as a pixel intensity: black (the paper's), mid-gray, or the face's mean.
BASELINES = ("black", "gray", "mean")
AGREEMENT_TOP = 0.1  # top-k fraction for the STN-vs-occlusion IoU, as the analyses use


class PhotoError(Exception):
    """The upload is not a usable photo; the message (the face pipeline's) says why."""


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
    """Decode ``data`` in memory and find the faces in it, largest first.

    Raises:
        PhotoError: empty, oversized, not an accepted format, a decompression bomb, truncated,
            or a name whose extension contradicts the bytes, with the pipeline's reason.
    """
    try:
        decoded = face_pipeline.decode_image(data, name=name or None)
        found = face_pipeline.detect_faces(decoded.rgb)
    except face_pipeline.FaceImageError as e:
        raise PhotoError(str(e)) from e
    boxes = [FaceBox(tuple(int(v) for v in f.box), float(f.score), f) for f in found]
    return Photo(np.asarray(decoded.rgb), boxes, list(decoded.notes), face_pipeline.DETECTOR_NAME)


def aligned_photo(gray: np.ndarray) -> Photo:
    """A dataset face (uint8 (S, S), already framed like FER2013) as a photo of one face."""
    gray = np.asarray(gray, dtype=np.uint8)
    h, w = gray.shape
    return Photo(np.repeat(gray[..., None], 3, axis=2), [FaceBox((0, 0, w, h))],
                 ["a dataset face, already aligned: used as it is"], "none (dataset crop)", True)


def crop_face(photo: Photo, index: int | None) -> np.ndarray:
    """uint8 (48, 48) grayscale face ``index`` of ``photo`` (the photo's centre when None)."""
    if photo.aligned:
        from PIL import Image

        gray = Image.fromarray(photo.rgb).convert("L").resize((48, 48), Image.Resampling.BILINEAR)
        return np.asarray(gray, dtype=np.uint8)
    face = photo.faces[index].raw if index is not None and photo.faces else None
    try:
        return np.asarray(face_pipeline.align_face(photo.rgb, face), dtype=np.uint8)
    except face_pipeline.FaceImageError as e:
        raise PhotoError(str(e)) from e


def detector_warm_up() -> None:
    """Load the detector's networks (once per process) on a blank image."""
    face_pipeline.detect_faces(np.full((64, 64, 3), 128, np.uint8))


# --------------------------------------------------------------------------------------------
# Explanations
# --------------------------------------------------------------------------------------------

def baseline_intensity(face: np.ndarray, baseline: str) -> float:
    """The pixel intensity (0..255) an occluded patch is filled with."""
    if baseline == "black":
        return 0.0
    if baseline == "gray":
        return 128.0
    if baseline == "mean":
        return float(np.asarray(face).mean())
    raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")


def explain_face(checkpoint, face: np.ndarray, *, tta: str = "none", window: int = 8,
                 stride: int = 4, baseline: str = "black", methods: tuple[str, ...] = (),
                 target: int | None = None) -> dict:
    """Everything the Explain page draws for one 48x48 face, as NumPy arrays and floats.

    Args:
        checkpoint: a loaded ``deep_emotion.checkpoints.Checkpoint`` (never modified).
        face: uint8 (48, 48) grayscale face framed like FER2013.
        tta: test-time augmentation for the probabilities (``deep_emotion.predict.TTA_MODES``);
            the maps explain the plain face.
        window, stride: occlusion patch side and step in pixels.
        baseline: what occluded pixels become (``BASELINES``).
        methods: extra attribution methods from ``METHODS``.
        target: class index to explain; the most probable class when None.

    Returns:
        dict with ``probs`` (C,), ``target``, ``classes``, ``stn`` (theta (2, 3), warped view
        (R, R) pixels, outline (4, 2) input pixels, heatmap (48, 48)), ``maps`` {method:
        (48, 48) float32}, ``agreement`` (top-10% IoU of STN and |occlusion|, 0..1),
        ``spearman`` (rank correlation of the two), ``deletion`` / ``insertion`` {curve, auc}
        of the occlusion map, and ``meta`` per method (what its values mean, its parameters).
    """
    model, pre = checkpoint.model, checkpoint.preprocessing
    face = np.array(face, dtype=np.uint8, copy=True)  # writable: torch shares the buffer
    images = torch.from_numpy(face)[None]
    probs = predict_proba(model, images, pre, tta=tta)[0].numpy()
    target = int(np.argmax(probs)) if target is None else int(target)
    wanted = ("occlusion",) + tuple(m for m in methods if m != "occlusion")
    fill = baseline_intensity(face, baseline)
    params = {m: {"window": window, "stride": stride, "baseline": fill} for m in ("occlusion", "flip")}
    out = face_explainer.explain_face(checkpoint, face, ("stn", *wanted), target=target, params=params)
    stn_meta = out["stn"].meta
    stn = {"theta": np.asarray(stn_meta["theta"], np.float32),
           "warped": np.asarray(stn_meta["view"], np.float32),
           "outline": np.asarray(stn_meta["grid_outline"], np.float32)[:-1],  # drop the repeat
           "heatmap": out["stn"].map}
    maps = {m: out[m].map for m in wanted}
    x = pre.to_input(images)
    t = torch.tensor([target])
    occlusion = torch.from_numpy(maps["occlusion"])[None]
    heat = torch.from_numpy(stn["heatmap"])[None]
    deletion = metrics.deletion_curve(model, x, occlusion, t, baseline=pre.pixel_value(0.0))
    insertion = metrics.insertion_curve(model, x, occlusion, t)
    return {"probs": probs.astype(np.float32), "target": target, "classes": list(checkpoint.classes),
            "stn": stn, "maps": maps,
            "agreement": float(metrics.topk_iou(heat, occlusion.abs(), AGREEMENT_TOP)[0]),
            "agreement_name": f"top-{AGREEMENT_TOP:.0%} overlap (IoU)",
            "spearman": float(metrics.spearman(heat, occlusion)[0]),
            "deletion": {"curve": deletion.scores[0].numpy().astype(np.float32),
                         "auc": float(deletion.auc[0])},
            "insertion": {"curve": insertion.scores[0].numpy().astype(np.float32),
                          "auc": float(insertion.auc[0])},
            "meta": {m: {k: v for k, v in out[m].meta.items() if k not in ("view", "grid_outline")}
                     for m in out}}


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
        "spearman_stn_vs_occlusion": round(float(result["spearman"]), 6),
        "deletion_auc_occlusion": round(float(result["deletion"]["auc"]), 6),
        "insertion_auc_occlusion": round(float(result["insertion"]["auc"]), 6),
        "method_details": result.get("meta", {}),
        "methods": sorted(result["maps"]),
    }, indent=1)


def maps_png(face: np.ndarray, result: dict, titles: dict[str, str] | None = None) -> bytes:
    """One PNG: the face, the STN view and every map overlaid on the face with a colour bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    panels = [("face", None), ("STN warped view", "warped"), ("STN attention", "stn")]
    panels += [((titles or {}).get(m, m), m) for m in result["maps"]]
    # constrained layout and colour bars under each panel: no bar reaches the next picture
    fig = Figure(figsize=(2.4 * len(panels), 3.2), dpi=100, layout="constrained")
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
        fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.06, pad=0.03)
    classes = result["classes"]
    fig.suptitle(f"prediction: {classes[result['target']]} "
                 f"({float(result['probs'][result['target']]):.0%})", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
