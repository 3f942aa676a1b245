"""Explanations of DeepEmotion decisions: the STN's own attention beside Captum attributions,
per-emotion face regions, and how far each map can be trusted.  No UI code here.

Public API (all re-exported here)::

    # one face, everything as NumPy (the CLI's and the dashboard's entry point)
    explain_face(checkpoint, face_uint8_SxS, methods=("stn", "occlusion"), target=None, *,
                 tta="none", window=OCCLUSION_WINDOW, stride=OCCLUSION_STRIDE, baseline="black",
                 params=None, trust=False)
        -> FaceExplanation(classes, probs (C,), prediction, target,
                           maps {method: Explanation(map float32 (S, S), meta dict)},
                           trust FaceTrust(agreement, spearman, deletion, insertion) | None)

    # STN attention of a normalised batch x (B, 1, S, S)
    stn_attention(model, x) -> StnAttention(theta (B,2,3), warped, grid_outline (B,5,2) (x, y)
                                            input pixels, heatmap (B,S,S), view (B,1,R,R), logits)

    # attributions, Captum style: one class per method, maps (B, 1, S, S) of the target LOGIT
    make_explainer(method, model, preprocessing, **params) -> Explainer
    Explainer.attribute(x, target=None) -> Attribution(maps, target (B,), meta)
    METHODS = {"occlusion": Occlusion, "flip": OcclusionFlip, "ig": IntegratedGradients,
               "saliency": Saliency, "smoothgrad": SmoothGrad, "gradcam": GradCam,
               "guided-gradcam": GuidedGradCam, "stn": StnHeatmap}

    # trust
    spearman(a, b) -> (B,);  topk_iou(a, b, fraction=AGREEMENT_TOP) -> (B,);  random_maps(shape, seed)
    deletion_curve(model, x, maps, target, baseline=...) -> Curves(fractions, scores, auc)
    insertion_curve(model, x, maps, target) -> Curves
    sanity_check(explainer, x, target=None, seed=0) -> SanityCheck(layers, similarity, passed)

    # face regions
    region_layout(landmarks=FER2013_LANDMARKS) -> RegionLayout(labels (S,S), names, landmarks)
    region_scores(maps, layout=None) -> {region: (B,) share of |map| mass}  (sums to 1)
    class_mean_maps(maps, labels, num_classes) -> (means (C,S,S), counts (C,))

    # region knock-outs and where people look
    knockout_faces(model, images_uint8, labels, pre, rows=, masks=region_masks()) -> per-face arrays
    knockout_summary(per_face, labels, classes) -> {region: {emotion: {recall_drop, ...}}}
    load_references() -> {source: Reference(key, about, emotions {emotion: {region: value}})}
    rank_agreement(network, people) -> {spearman, p, p_below, chance_95}

    # precomputed analyses (``deep-emotion analyze``)
    analyze(checkpoint, data_dir=None, config=AnalyzeConfig(), stages=STAGES) -> dict  (writes it)
    load_analysis(checkpoint) -> dict;  analysis_path(checkpoint) -> Path

Coordinates: maps are aligned with the input face, pixel (i, j) centred at x = j, y = i.
"""

from deep_emotion.explain.analyze import (ANALYSIS_FORMAT, AnalyzeConfig, analysis_path, analyze,
                                          load_analysis)
from deep_emotion.explain.attributions import (ATTRIBUTED_OUTPUT, METHODS, OCCLUSION_STRIDE,
                                               OCCLUSION_WINDOW, Attribution, Explainer,
                                               GradCam, GuidedGradCam, IntegratedGradients,
                                               Occlusion, OcclusionFlip, Saliency, SmoothGrad,
                                               StnHeatmap, make_explainer)
from deep_emotion.explain.face import (BASELINES, DEFAULT_METHODS, Explanation, FaceExplanation,
                                       FaceTrust, baseline_intensity, explain_face)
from deep_emotion.explain.human import Reference, load_references, rank_agreement
from deep_emotion.explain.knockout import (KNOCKOUT_REGIONS, knockout_faces, knockout_summary,
                                           region_masks)
from deep_emotion.explain.metrics import (AGREEMENT_TOP, SANITY_THRESHOLD, Curves, SanityCheck, deletion_curve,
                                          insertion_curve, random_maps, randomisation_order,
                                          sanity_check, spearman, topk_iou)
from deep_emotion.explain.regions import (REGIONS, RegionLayout, class_mean_maps, region_layout,
                                          region_scores)
from deep_emotion.explain.stn import StnAttention, layer_to_input, sampled_frame, stn_attention

__all__ = [
    "explain_face", "Explanation", "FaceExplanation", "FaceTrust", "DEFAULT_METHODS", "BASELINES",
    "baseline_intensity", "OCCLUSION_WINDOW", "OCCLUSION_STRIDE", "AGREEMENT_TOP",
    "stn_attention", "StnAttention", "sampled_frame", "layer_to_input",
    "METHODS", "make_explainer", "Explainer", "Attribution", "ATTRIBUTED_OUTPUT", "Occlusion",
    "OcclusionFlip", "IntegratedGradients", "Saliency", "SmoothGrad", "GradCam", "GuidedGradCam",
    "StnHeatmap",
    "spearman", "topk_iou", "random_maps", "Curves", "deletion_curve", "insertion_curve",
    "SanityCheck", "sanity_check", "randomisation_order", "SANITY_THRESHOLD",
    "REGIONS", "RegionLayout", "region_layout", "region_scores", "class_mean_maps",
    "analyze", "AnalyzeConfig", "load_analysis", "analysis_path", "ANALYSIS_FORMAT",
    "KNOCKOUT_REGIONS", "knockout_faces", "knockout_summary", "region_masks",
    "Reference", "load_references", "rank_agreement",
]
