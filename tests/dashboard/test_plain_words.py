"""What a first-time user reads: checkpoints in plain words, a glossary on every page, plain
messages where data is missing, and confusion-matrix cells that stay what the user chose."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import widgets, wording
from dashboard.views.confusion import cell_from_selection
from deep_emotion.catalog import DEFAULT_CHECKPOINT
from tests.dashboard.conftest import APP
from tests.dashboard.test_pages import PAGES, go, texts


def test_checkpoints_come_recommended_first_each_with_a_line_from_its_card(app):
    picker = app.sidebar.selectbox(key="checkpoint")
    assert picker.options[0].startswith("fer2013 · FER2013 · 7 emotions") and "recommended" in picker.options[0]
    assert picker.options[1].startswith("ckplus · CK+ · 7 emotions")
    caption = " ".join(c.value for c in app.sidebar.caption)
    assert "Learned from FER2013" in caption and "right" in caption and "happiness" in caption
    assert not app.sidebar.warning  # everyday photos: no caution
    picker.set_value("ckplus").run()
    caution = app.sidebar.warning[0].value
    assert "posed" in caution and "no neutral" in caution
    assert "cross-validation: 2 rounds" in " ".join(c.value for c in app.sidebar.caption)


@pytest.mark.parametrize("dataset, words", [
    ("jaffe", "213 posed photos of ten people"), ("ckplus", "no neutral class"),
])
def test_networks_trained_far_from_everyday_photos_carry_a_caution(dataset, words):
    card = {"dataset": {"name": dataset}, "classes": ["anger"] * 7}
    assert words in wording.training_caution(card)


def test_an_eight_emotion_network_is_flagged_and_fer2013_is_not():
    assert "eight emotions" in wording.training_caution({"dataset": {"name": "ferplus"},
                                                        "classes": list("abcdefgh")})
    assert wording.training_caution({"dataset": {"name": "fer2013"}, "classes": list("abcdefg")}) is None


def test_recommended_then_everyday_then_posed_networks():
    card = lambda ds, acc: {"dataset": {"name": ds}, "metrics": {"test": {"none": {"accuracy": acc}}}}  # noqa: E731
    cards = {"jaffe": card("jaffe", 0.9), "ferplus_wide": card("ferplus", 0.8),
             "fer2013": card("fer2013", 0.6), "fer2013_wide": card("fer2013", 0.65),
             "ckplus": card("ckplus", 0.97), DEFAULT_CHECKPOINT: card("fer2013", 0.64)}
    assert wording.checkpoint_order(cards) == [DEFAULT_CHECKPOINT, "ferplus_wide", "fer2013_wide",
                                               "fer2013", "ckplus", "jaffe"]


def test_without_the_default_the_most_accurate_everyday_network_is_recommended():
    card = lambda ds, acc: {"dataset": {"name": ds}, "metrics": {"test": {"none": {"accuracy": acc}}}}  # noqa: E731
    cards = {"fer2013": card("fer2013", 0.6), "mine": card("fer2013", 0.65),
             "ckplus": card("ckplus", 0.97)}
    assert wording.recommended(cards) == "mine"
    assert wording.recommended({"ckplus": card("ckplus", 0.97)}) is None
    assert "recommended" in wording.checkpoint_line("mine", cards["mine"], True)
    assert "recommended" not in wording.checkpoint_line("fer2013", cards["fer2013"], False)


@pytest.mark.parametrize("page", PAGES)
def test_the_glossary_is_one_click_away_on_every_page(app, page):
    go(app, page)
    go(app, "glossary")
    shown = texts(app).lower()
    for term in ("stn", "occlusion", "attribution", "faithfulness", "auc", "sanity check",
                 "protocol", "fold", "fine-tuned"):
        assert f"**{term}" in shown, term


def test_the_page_icon_is_drawn_inline_not_fetched():
    source = open(APP, encoding="utf-8").read()
    assert 'page_icon=":material' not in source  # a Material page icon is fetched from a font host


def test_regions_page_reads_without_config_keys(app):
    go(app, "regions")
    shown = texts(app)
    assert "fold(s)" not in shown and "protocol '" not in shown
    assert "tested once on the dataset's own held-out test photos" in shown
    assert [o for o in app.radio(key="agreement_measure").options] == [
        "rank correlation", "overlap of the top 10% pixels"]


def test_trust_page_shows_intervals_and_never_cites_a_bare_paper(app):
    go(app, "trust")
    shown = texts(app)
    assert "Adebayo et al." not in shown
    assert "95% percentile bootstrap" in shown
    frames = [json.dumps(df.value.to_dict(), default=str) for df in app.dataframe]
    assert any("0.10 (0.05 to 0.15)" in f for f in frames)  # sanity interval from the analysis


def test_a_cell_chosen_on_the_confusion_page_survives_leaving_it(app):
    go(app, "confusion")
    app.selectbox(key="cell_true").set_value("happiness").run()
    app.selectbox(key="cell_pred").set_value("anger").run()
    go(app, "trust")
    go(app, "confusion")
    assert (app.selectbox(key="cell_true").value, app.selectbox(key="cell_pred").value) == (
        "happiness", "anger")
    app.sidebar.selectbox(key="checkpoint").set_value("ckplus").run()  # other classes: still valid
    assert app.selectbox(key="cell_true").value in app.selectbox(key="cell_true").options


def test_a_click_selects_its_cell_and_a_stale_point_is_ignored():
    classes = ["anger", "happiness"]
    assert cell_from_selection([{"x": "anger", "y": "happiness"}], classes) == ("happiness", "anger")
    assert cell_from_selection([{"x": "contempt", "y": "anger"}], classes) is None
    assert cell_from_selection([], classes) is None


def _png(face: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="PNG")
    return buf.getvalue()


def test_a_face_handed_over_from_a_cell_is_explained(app):
    face = (np.random.default_rng(0).random((48, 48)) * 255).astype(np.uint8)
    app.session_state[widgets.HANDED_FACE] = (_png(face), "FER2013 test face: 12 (true happiness, "
                                                          "predicted anger)")
    app.run()
    assert not app.exception
    shown = texts(app)
    assert "Explaining **FER2013 test face: 12" in shown and "Prediction:" in shown
    app.button(key="drop_handed_face").click().run()
    assert widgets.HANDED_FACE not in app.session_state
    assert "Prediction:" not in texts(app)


def test_without_datasets_no_page_speaks_of_settings_unfolded(app, monkeypatch):
    """Settings are for whoever runs the server: they sit in a folded expander, never in the
    sentences a person at the browser reads."""
    monkeypatch.delenv("DEEP_EMOTION_DATA", raising=False)
    for page in ("confusion", "regions", "trust"):
        go(app, page)
        shown = texts(app, folded=False)
        for developer_text in ("DEEP_EMOTION_DATA", "--data-dir", "pass --"):
            assert developer_text not in shown, (page, developer_text)


def test_only_datasets_on_this_server_are_offered(app_env, monkeypatch, tmp_path):
    from tests.explain.test_analyze import write_fer2013

    root = write_fer2013(tmp_path / "data")
    (root / "ferg").mkdir()
    (root / "ferg" / "README.md").write_text("FERG images are not here\n")
    monkeypatch.setenv("DEEP_EMOTION_DATA", str(root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="checkpoint").set_value("ckplus").run()
    go(at, "confusion")
    assert at.selectbox(key="cm_dataset").options == ["CK+", "FER2013"]  # own card, then on disk
