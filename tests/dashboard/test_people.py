"""Builders of "Does the network look where people look?" (``dashboard/people.py``)."""

from __future__ import annotations

import io

import pandas as pd

from dashboard import people
from deep_emotion.explain.knockout import KNOCKOUT_REGIONS

TOPS = {"attribution": ["eyes", "brows", "nose"], "attention": ["nose", "eyes", "mouth"],
        "knockout": ["mouth", "chin", "nose"]}


def _cell(rho, low, high, p, p_below, verdict, people_top):
    measure = {"spearman": rho, "low": low, "high": high, "p": p, "p_below": p_below,
               "chance_95": 0.68, "verdict": verdict}
    return measure | {"measures": {m: measure for m in TOPS}, "network_top": TOPS,
                      "people_top": people_top}


def _knock(drop):
    return {"recall_drop": drop, "probability_drop": drop, "low": 0.0, "high": drop,
            "probability_low": drop / 2, "probability_high": drop * 1.5,
            "random_probability_drop": 0.01, "exceeds_random": drop > 0.05,
            "baseline_sensitive": False}


ANALYSES = {
    "classes": ["fear", "happiness"],
    "knockout": {r: {"fear": _knock(0.2 if r == "mouth" else 0.01),
                     "happiness": _knock(0.3 if r == "mouth" else 0.02)} for r in KNOCKOUT_REGIONS},
    "knockout_settings": {"primary": "black", "baselines": ["black", "gray", "mean"],
                          "faces": 40},
    "human_references": {"wegrzyn2017": {"name": "Wegrzyn et al. 2017", "kind": "observers"},
                         "facs": {"name": "FACS prototypes", "kind": "template"}},
    "human_agreement": {
        "wegrzyn2017": {"fear": _cell(-0.64, -0.9, -0.2, 0.94, 0.03, "disagrees",
                                      ["eyes", "mouth", "brows"]),
                        "happiness": _cell(0.79, 0.4, 0.95, 0.02, 0.99, "agrees",
                                           ["mouth", "eyes", "cheeks"])},
        "facs": {"fear": _cell(0.1, -0.5, 0.6, 0.4, 0.6, "uncertain", ["mouth", "brows", "eyes"]),
                 "happiness": _cell(0.7, 0.2, 0.9, 0.04, 0.97, "agrees", ["cheeks", "mouth"])}},
}


def test_the_table_shows_every_ranking_and_source_per_emotion():
    table = people.top_regions_table(ANALYSES)
    assert list(table["Emotion"]) == ["fear", "happiness"]
    fear = table.iloc[0]
    assert fear["Network: knock-out (beyond a random region)"] == "mouth, chin, nose"
    assert fear["Network: attribution (occlusion)"] == "eyes, brows, nose"
    assert fear["People: Wegrzyn et al. 2017"] == "eyes, mouth, brows"
    assert fear["People: FACS prototypes"] == "mouth, brows, eyes"
    assert fear["Agreement with Wegrzyn et al. 2017 (knock-out)"] == "-0.64 [-0.90, -0.20], p 0.940"
    assert list(table["Reading"]) == ["disagreement", "agreement"]


def test_one_plain_sentence_per_emotion_names_its_reading():
    sentences = people.readings(ANALYSES)
    assert [r for _, r in sentences] == ["disagreement", "agreement"]
    fear = sentences[0][0]
    assert fear.startswith("Fear: disagreement.") and "Hiding the mouth costs" in fear
    assert "Wegrzyn et al. 2017 puts the eyes first" in fear


def test_fear_read_from_the_mouth_where_people_read_the_eyes_is_a_failure_case():
    cases = people.failure_cases(ANALYSES)
    assert len(cases) == 1  # happiness agrees; FACS is a template, not observers
    assert cases[0].startswith("Fear: the network needs the mouth most, while people in "
                               "Wegrzyn et al. 2017 read it first from the eyes")


def test_the_downloads_carry_the_table():
    table = people.top_regions_table(ANALYSES)
    assert pd.read_csv(io.BytesIO(people.table_csv(table))).equals(table)
    assert people.table_png(table, "title").startswith(b"\x89PNG")


def test_the_knockout_figure_sets_each_region_beside_a_random_one():
    fig = people.knockout_figure(ANALYSES, "fear")
    bars, random = fig.data
    assert list(bars.x) == list(KNOCKOUT_REGIONS)
    assert bars.y[list(KNOCKOUT_REGIONS).index("mouth")] == 0.2
    assert set(random.y) == {0.01}


def test_without_knockouts_the_section_has_nothing_to_draw():
    assert not people.has_people({"classes": ["fear"]})
    assert people.has_people(ANALYSES)
