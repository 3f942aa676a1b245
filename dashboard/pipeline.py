"""Face -> prediction -> maps, as plain NumPy results the pages can cache and draw.

STN attention, attributions, agreement and faithfulness are
``deep_emotion.explain`` (the same code the CLI and the precomputed analyses run).  Nothing
here imports streamlit, so every function is testable on its own.
"""

from __future__ import annotations

import io
import json

import numpy as np
import torch

from deep_emotion.explain import face as face_explainer
from deep_emotion.explain import metrics
from deep_emotion.predict import predict_proba

__all__ = ["explain_face", "METHODS", "BASELINES", "AGREEMENT_TOP",
           "report_json", "maps_npz", "maps_png"]

# Attribution methods the page offers beside occlusion (always shown), in the order listed.
METHODS = ("occlusion", "flip", "saliency", "ig", "smoothgrad", "gradcam", "guided-gradcam")
# Occlusion patch fill, as a pixel intensity: black (the paper's), mid-gray, or the face's mean.
BASELINES = ("black", "gray", "mean")
AGREEMENT_TOP = 0.1  # top-k fraction for the STN-vs-occlusion IoU, as the analyses use


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
