"""Verdicts on explanation methods in words (``deep_emotion.explain.verdicts``): what the Trust
page and the Explain page's defaults read from an analysis."""

from __future__ import annotations

import numpy as np
import pytest

from deep_emotion.explain import verdicts
from deep_emotion.explain.metrics import MIN_DEFINED_FACES


def _check(verdict, interval, defined=120, faces=128):
    return {"mean_spearman": [0.9, interval[0] if interval else None], "interval": interval,
            "verdict": verdict, "passed": verdict == "passes", "faces": faces,
            "faces_defined": defined, "threshold": 0.5}


def _faith(beats):
    return {"deletion_auc": 0.3, "deletion": {"interval": [0.3, 0.2, 0.35], "beats_random": beats}}


TRUST = {"faithfulness": {"interval": "95% percentile bootstrap", "methods": {
    "occlusion": {"deletion_auc": 0.1, "deletion": {"interval": [0.1, 0.08, 0.12], "beats_random": True}},
    "saliency": {"deletion_auc": 0.5, "deletion": {"interval": [0.5, 0.45, 0.55], "beats_random": False}},
    "ig": {"deletion_auc": 0.38, "deletion": {"interval": [0.38, 0.3, 0.45], "beats_random": None}},
    "flip": {"deletion_auc": 0.3, "deletion": {"interval": [0.3, 0.2, 0.35], "beats_random": True}},
    "random": {"deletion_auc": 0.4, "deletion_auc_std": 0.1}}},
    "sanity": {"faces": 128, "methods": {
        "occlusion": _check("passes", [0.2, 0.15, 0.25]),
        "saliency": _check("fails", [0.8, 0.75, 0.85]),
        "ig": _check("unclear", [0.5, 0.45, 0.55]),
        "flip": {**_check("undefined", None, defined=3), "mean_spearman": [None, None]}}}}


def test_trust_reading_in_plain_words():
    text = " ".join(verdicts.trust_reading(TRUST))
    assert "**occlusion** is the most faithful" in text
    assert "No better than a random map at deletion: saliency" in text
    assert "No faithfulness verdict for ig" in text
    assert "Barely change" in text and "saliency" in text
    assert "Sanity check unclear" in text and "ig" in text
    assert "No sanity verdict for flip" in text and "blank" in text
    assert verdicts.trust_reading({}) == ["These analyses hold no faithfulness or sanity results yet."]


def test_a_blank_map_is_never_reported_as_passing():
    assert verdicts.sanity_verdict(TRUST["sanity"]["methods"]["flip"]) == "undefined"
    assert verdicts.trusted_methods(TRUST, ["flip"]) == []
    # a check that recorded no verdict is no pass, whatever its mean
    assert verdicts.sanity_verdict({"mean_spearman": [0.4, 0.0], "passed": True}) == "undefined"


def test_default_methods_are_those_passing_both_checks_and_the_others_carry_their_verdict():
    candidates = ["flip", "saliency", "ig", "occlusion", "gradcam"]
    assert verdicts.trusted_methods(TRUST, candidates) == ["occlusion"]
    assert verdicts.verdict_note(TRUST, "occlusion") is None
    assert verdicts.verdict_note(TRUST, "saliency") == "fails the sanity check; no better than a random map"
    assert verdicts.verdict_note(TRUST, "flip").startswith("no sanity verdict")
    assert "not checked" in verdicts.verdict_note(TRUST, "gradcam")
    assert verdicts.trusted_methods(None, candidates) == []


@pytest.mark.parametrize("sanity, beats, start", [
    ("passes", True, "Trustworthy here"),
    ("passes", False, "Read with care: its map depends on what the network learned"),
    ("fails", True, "Read with care: the pixels it ranks first matter"),
    ("fails", False, "Not to be trusted here"),
])
def test_one_sentence_per_method_combines_both_checks(sanity, beats, start):
    analyses = {"faithfulness": {"methods": {"m": _faith(beats)}},
                "sanity": {"methods": {"m": _check(sanity, [0.3, 0.2, 0.4])}}}
    assert verdicts.method_sentence(analyses, "m").startswith(start)


def test_grad_cam_passing_sanity_but_no_better_than_random_is_not_called_trustworthy():
    analyses = {"faithfulness": {"methods": {"gradcam": _faith(False)}},
                "sanity": {"methods": {"gradcam": _check("passes", [0.1, 0.05, 0.15])}}}
    sentence = verdicts.method_sentence(analyses, "gradcam")
    assert "Trustworthy" not in sentence and "no more than random" in sentence


def test_no_verdict_gives_the_true_reason_too_few_faces_not_blank_maps():
    few = MIN_DEFINED_FACES - 2
    analyses = {"faithfulness": {"methods": {"gradcam": _faith(True)}},
                "sanity": {"methods": {"gradcam": _check("undefined", None, defined=few, faces=few)}}}
    sentence = verdicts.method_sentence(analyses, "gradcam")
    assert sentence.startswith("No overall verdict")
    assert f"ran on {few} faces" in sentence and f"at least {MIN_DEFINED_FACES}" in sentence
    assert "blank" not in sentence
    assert f"ran on {few} faces" in " ".join(verdicts.trust_reading(analyses))
    # enough faces, but a map blank on most of them: that is the reason then
    blank = {"faithfulness": analyses["faithfulness"],
             "sanity": {"methods": {"gradcam": _check("undefined", None, defined=3, faces=100)}}}
    assert "blank on all but 3 of 100 faces" in verdicts.method_sentence(blank, "gradcam")


def test_an_unclear_interval_and_an_open_deletion_verdict_are_both_named():
    sentence = verdicts.method_sentence(TRUST, "ig")
    assert sentence.startswith("No overall verdict") and "straddles the threshold" in sentence
    assert "includes zero" in sentence


def test_the_stn_finding_is_stated_only_when_its_class_maps_look_alike():
    box = np.zeros((48, 48))
    box[8:40, 8:40] = 1.0
    rng = np.random.default_rng(0)
    alike = {e: (box + 0.01 * rng.random((48, 48))).tolist() for e in ("anger", "happiness", "fear")}
    varied = {e: rng.random((48, 48)).tolist() for e in ("anger", "happiness", "fear")}
    sentence = verdicts.stn_finding({"class_mean_maps": {"stn": alike, "occlusion": varied}})
    assert "same box on every face" in sentence and "3 emotions" in sentence
    assert "about 44% of it" in sentence  # 32x32 of 48x48
    assert verdicts.stn_finding({"class_mean_maps": {"stn": varied}}) is None
    assert verdicts.stn_finding({}) is None
