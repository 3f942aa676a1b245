"""The Face regions page's "Does the network look where people look?" section, drawn from an
analysis whose knock-outs and agreement come from the core's own functions."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from deep_emotion.explain.human import human_agreement, references_about
from deep_emotion.explain.knockout import KNOCKOUT_REGIONS, knockout_summary
from deep_emotion.explain.regions import REGIONS
from tests.dashboard.conftest import APP, FER, make_analysis, make_checkpoint
from tests.dashboard.test_pages import go, texts
from tests.dashboard.test_words import TERMS, _everything_shown, _in_glossary

FACES = 70
SECTION = "Does the network look where people look?"


def _per_face(rng) -> tuple[dict, np.ndarray]:
    """Knock-out arrays of a network that needs the mouth for every emotion."""
    labels = np.arange(FACES) % len(FER)
    p0 = rng.uniform(0.6, 0.9, FACES)
    drop = np.where(np.array(KNOCKOUT_REGIONS) == "mouth", 0.5, 0.02)[:, None]
    p = np.clip(p0 - drop - rng.uniform(0, 0.05, (3, len(KNOCKOUT_REGIONS), FACES)), 0, 1)
    knock = {"labels": labels, "p0": p0, "hit0": np.ones(FACES, bool), "p": p, "hit": p > 0.3,
             "p_random": p0 - 0.03 + np.zeros((len(KNOCKOUT_REGIONS), FACES)),
             "hit_random": np.ones((len(KNOCKOUT_REGIONS), FACES), bool),
             "stn_shares": rng.dirichlet(np.ones(len(REGIONS)), FACES).T}
    return knock, labels


@pytest.fixture()
def people_app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    make_checkpoint(tmp_path, "fer2013", FER, "fer2013")
    path = make_analysis(tmp_path, "fer2013", FER)
    data = json.loads(path.read_text())
    knock, labels = _per_face(np.random.default_rng(0))
    summary = knockout_summary(knock, labels, FER)
    data |= {"knockout": summary, "human_references": references_about(),
             "knockout_settings": {"primary": "black", "baselines": ["black", "gray", "mean"],
                                   "faces": FACES},
             "human_agreement": human_agreement(data, knock)}
    path.write_text(json.dumps(data))
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(tmp_path))
    monkeypatch.delenv("DEEP_EMOTION_DATA", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return go(at, "regions")


def test_the_section_shows_every_emotion_with_a_sentence_and_failure_cases(people_app):
    assert SECTION in [s.value for s in people_app.subheader]
    table = people_app.dataframe[0].value  # the second is every ranking, in an expander
    assert list(table["Emotion"]) == list(FER)
    assert set(table["Network: knock-out (beyond a random region)"].str.split(", ").str[0]) \
        == {"mouth"}
    sentences = [e.value for kind in ("success", "warning", "info") for e in getattr(people_app, kind)
                 if re.match(r"^[A-Z][a-z]+: (agreement|disagreement|too uncertain)", str(e.value))]
    assert len(sentences) == len(FER)
    # the mouth first for sadness and fear, where the observers read the eyes
    shown = texts(people_app)
    assert "Fear: the network needs the mouth most, while people in Wegrzyn et al. 2017 read " \
           "it first from the eyes" in shown
    assert "posed textbook templates" in shown.lower()


def test_every_emotion_can_be_knocked_out_and_every_term_is_in_the_glossary(people_app):
    for emotion in people_app.selectbox(key="knockout_emotion").options:
        people_app.selectbox(key="knockout_emotion").set_value(emotion).run()
        assert not people_app.exception
    shown = _everything_shown(people_app)
    used = [t for t in TERMS if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", shown, re.I)]
    assert {"knock-out", "human reference", "random region", "FACS", "tile"} <= set(used)
    assert [t for t in used if not _in_glossary(t)] == []


def test_an_analysis_without_knockouts_says_how_to_add_them(app):
    go(app, "regions")
    assert "deep-emotion analyze --checkpoint fer2013 --stages knockout" in texts(app)
