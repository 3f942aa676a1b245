"""Human references and the agreement statistic."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from deep_emotion.explain.human import (load_references, rank_agreement, tile_regions,
                                        verdict)
from deep_emotion.explain.knockout import KNOCKOUT_REGIONS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "derive_human_reference.py"


def _script():
    spec = importlib.util.spec_from_file_location("derive_human_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_agreement_matches_a_hand_computed_case():
    # two neighbours swapped twice: sum of squared rank differences 4 over 7 regions,
    # rho = 1 - 6 * 4 / (7 * (49 - 1)) = 13/14
    rho = rank_agreement([1, 2, 3, 4, 5, 6, 7], [2, 1, 3, 4, 5, 7, 6])
    assert rho["spearman"] == pytest.approx(13 / 14, abs=1e-4)
    # orderings at least as close: the identity, 6 single swaps of neighbours, 10 pairs of
    # disjoint neighbour swaps; 17 of the 7! = 5040
    assert rho["p"] == pytest.approx(17 / math.factorial(7), abs=1e-5)
    # and at most as close: all but the identity and the 6 single swaps
    assert rho["p_below"] == pytest.approx(1 - 7 / 5040, abs=1e-5)
    assert 0.5 < rho["chance_95"] < 0.8


def test_reversed_rankings_disagree_and_a_constant_one_has_no_order():
    rho = rank_agreement([1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1])
    assert rho["spearman"] == -1 and rho["p_below"] == pytest.approx(1 / 5040, abs=1e-5)
    assert verdict(rho | {"low": -1.0, "high": -0.6}) == "disagrees"
    assert verdict(rho | {"low": -1.0, "high": 0.1}) == "uncertain"  # the interval crosses 0
    flat = rank_agreement([1, 2, 3, 4, 5, 6, 7], [0] * 7)
    assert flat["spearman"] is None and verdict(flat) == "undefined"


def test_the_shipped_references_are_re_derived_from_their_source_files_by_their_script():
    assert _script().main(["--check"]) == 0


def test_references_carry_provenance_and_the_seven_regions():
    refs = load_references()
    assert set(refs) == {"wegrzyn2017", "facs"}
    for ref in refs.values():
        for field in ("name", "citation", "paradigm", "stimuli", "observers", "licence"):
            assert field in ref.about, (ref.key, field)
        for values in ref.emotions.values():
            assert list(values) == list(KNOCKOUT_REGIONS)
    assert refs["wegrzyn2017"].about["observers"] == 94
    assert "template" in refs["facs"].about["caution"]
    # the paper's finding: sadness and fear are read from the eyes, happiness and disgust
    # from the mouth
    w = refs["wegrzyn2017"].emotions
    for emotion, region in (("sadness", "eyes"), ("fear", "eyes"), ("happiness", "mouth"),
                            ("disgust", "mouth")):
        assert max(w[emotion], key=w[emotion].get) == region, emotion


def test_tiles_are_spread_over_the_regions_drawn_from_the_stimulus_landmarks():
    landmarks = {"left_eye": (90, 140), "right_eye": (210, 140), "nose": (150, 210),
                 "mouth_left": (105, 280), "mouth_right": (195, 280)}
    weights = np.zeros(48)
    weights[3 * 8 + 5] = 1.0  # column 3 (x 150-199), row 5 (y 250-299): the mouth's right half
    values = tile_regions(weights, landmarks)
    assert max(values, key=values.get) == "mouth"
    assert values["eyes"] == values["forehead"] == values["brows"] == 0.0


def test_a_prototype_s_top_regions_are_only_those_with_action_units():
    from deep_emotion.explain.human import _top

    facs = load_references()["facs"].emotions
    assert _top(facs["happiness"]) == ["cheeks", "mouth"]
    assert _top(facs["neutral"]) == []
    assert _top({"eyes": 0.3, "mouth": 0.5, "nose": 0.1, "chin": 0.2}) == ["mouth", "eyes", "chin"]
