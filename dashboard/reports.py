"""Downloads of one explanation: a JSON report, the maps as NPZ and as one PNG.

Built on the core's ``FaceExplanation`` (``deep_emotion.explain.explain_face``), the same
result the page draws.  Every download names the predicted class and the explained class
apart, and says which face of the photo it is, numbered as the page numbers it.  Nothing here
imports streamlit; the bytes are built in memory.
"""

from __future__ import annotations

import io
import json

import numpy as np

from dashboard.figures import COLORBAR_TITLES, SIGNED_METHODS
from deep_emotion.explain import AGREEMENT_TOP, FaceExplanation

__all__ = ["stn_parts", "headline", "report_json", "maps_npz", "maps_figure", "maps_png"]

SIGNED_CMAP = "RdBu_r"  # matplotlib's name for the page's Plotly scale ``figures.SIGNED_SCALE``


def stn_parts(result: FaceExplanation) -> dict[str, np.ndarray]:
    """The STN's parts, for the figures and downloads: ``theta`` (2, 3), ``warped`` (R, R) pixels 0..255 (the face
    as the classifier's frame shows it), ``outline`` (4, 2) (x, y) input pixels of the sampled
    frame's corners, ``heatmap`` (S, S) sampled points per pixel."""
    stn = result.maps["stn"]
    return {"theta": np.asarray(stn.meta["theta"], np.float32),
            "warped": np.asarray(stn.meta["view"], np.float32),
            "outline": np.asarray(stn.meta["grid_outline"], np.float32)[:-1],  # drop the repeat
            "heatmap": stn.map}


def headline(result: FaceExplanation) -> dict[str, object]:
    """The prediction and the explained class, apart: they differ when a class was chosen."""
    c, p = result.classes, result.probs
    return {"prediction": c[result.prediction],
            "prediction_probability": round(float(p[result.prediction]), 6),
            "explained_class": c[result.target],
            "explained_probability": round(float(p[result.target]), 6)}


def report_json(result: FaceExplanation, context: dict) -> str:
    """A JSON report of one explanation: ``context`` (checkpoint, photo, face number, framing,
    settings as the page shows them), the prediction, the explained class and the numbers."""
    trust = result.trust
    report = {**context, **headline(result),
              "probabilities": {c: round(float(p), 6) for c, p in zip(result.classes, result.probs)},
              "stn_theta": np.round(stn_parts(result)["theta"], 6).tolist(),
              "methods": [m for m in result.maps if m != "stn"],
              "method_details": {m: {k: v for k, v in ex.meta.items()
                                     if k not in ("view", "grid_outline")}
                                 for m, ex in result.maps.items()}}
    if trust is not None:
        report |= {"agreement_stn_vs_occlusion": {"value": round(trust.agreement, 6),
                                                  "measure": f"top-{AGREEMENT_TOP:.0%} overlap (IoU)"},
                   "spearman_stn_vs_occlusion": (None if np.isnan(trust.spearman)
                                                 else round(trust.spearman, 6)),
                   "deletion_auc_occlusion": round(float(trust.deletion.auc[0]), 6),
                   "insertion_auc_occlusion": round(float(trust.insertion.auc[0]), 6)}
    return json.dumps(report, indent=1)


def maps_npz(face: np.ndarray, result: FaceExplanation, context: dict) -> bytes:
    """The face, probabilities, STN parts and every map as an in-memory ``.npz``, with the
    class names, prediction, explained class and framing as string arrays."""
    stn = stn_parts(result)
    named = headline(result)
    arrays = {"face": face, "probs": result.probs, "classes": np.array(result.classes),
              "prediction": np.array(named["prediction"]),
              "explained_class": np.array(named["explained_class"]),
              "framing": np.array(str(context.get("framing", ""))),
              "theta": stn["theta"], "stn_heatmap": stn["heatmap"], "stn_warped": stn["warped"]}
    arrays |= {f"map_{m.replace('-', '_')}": ex.map for m, ex in result.maps.items() if m != "stn"}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _title(result: FaceExplanation, context: dict) -> str:
    named = headline(result)
    title = f"prediction: {named['prediction']} ({named['prediction_probability']:.0%})"
    if result.target != result.prediction:
        title += (f"; maps explain: {named['explained_class']} "
                  f"({named['explained_probability']:.0%})")
    where = context.get("framing")
    return f"{title}\n{where}" if where else title


def maps_figure(face: np.ndarray, result: FaceExplanation, context: dict,
                titles: dict[str, str] | None = None):
    """The matplotlib figure ``maps_png`` saves: the face, the STN view and every map overlaid
    on the face with a colour bar, each map on the page's scale (``figures.SIGNED_METHODS``
    diverging and centred on zero, the others from their minimum to their maximum)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    stn = stn_parts(result)
    panels = [("face", None), ("STN warped view", "warped"), ("STN attention", "stn")]
    panels += [((titles or {}).get(m, m), m) for m in result.maps if m != "stn"]
    # constrained layout and colour bars under each panel: no bar reaches the next picture
    fig = Figure(figsize=(2.4 * len(panels), 3.4), dpi=100, layout="constrained")
    for i, (title, key) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        if key == "warped":
            ax.imshow(stn["warped"], cmap="gray", vmin=0, vmax=255)
            continue
        ax.imshow(face, cmap="gray", vmin=0, vmax=255)
        if key is None:
            continue
        heat = np.asarray(stn["heatmap"] if key == "stn" else result.maps[key].map, float)
        if key in SIGNED_METHODS:
            lim = float(np.abs(heat).max()) or 1.0
            im = ax.imshow(heat, cmap=SIGNED_CMAP, vmin=-lim, vmax=lim, alpha=0.55)
        else:
            im = ax.imshow(heat, cmap="inferno", alpha=0.55)
        bar = fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.06, pad=0.03)
        if key in COLORBAR_TITLES:
            bar.set_label(COLORBAR_TITLES[key], fontsize=8)
    fig.suptitle(_title(result, context), fontsize=10)
    return fig


def maps_png(face: np.ndarray, result: FaceExplanation, context: dict,
             titles: dict[str, str] | None = None) -> bytes:
    """One PNG of ``maps_figure``."""
    buf = io.BytesIO()
    maps_figure(face, result, context, titles).savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
