"""Explain a face: the newest photo choice wins, and what the page says matches what it does."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dashboard import widgets
from dashboard.views.explain import score_text
from tests.dashboard.conftest import jpeg
from tests.dashboard.test_pages import chart, texts, upload


def _png(face: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="PNG")
    return buf.getvalue()


def _hand_over(app):
    face = (np.random.default_rng(0).random((48, 48)) * 255).astype(np.uint8)
    app.session_state[widgets.HANDED_FACE] = (_png(face), "FER2013 test face: 12 (true happiness, "
                                                          "predicted anger)")
    app.run()
    assert "Explaining **FER2013 test face: 12" in texts(app)
    return app


def test_a_handed_over_face_gives_way_to_a_new_upload(app, astronaut_jpeg):
    _hand_over(app)
    upload(app, "astronaut.jpg", astronaut_jpeg)
    assert not app.exception
    shown = texts(app)
    assert "Explaining **FER2013" not in shown and "astronaut.jpg · 1 face found" in shown
    assert widgets.HANDED_FACE not in app.session_state


def test_a_handed_over_face_gives_way_to_a_sample(app):
    _hand_over(app)
    app.radio(key="source").set_value("Sample").run()
    assert not app.exception
    assert "Explaining **FER2013" not in texts(app)
    assert "Astronaut" in texts(app)


def test_a_handed_over_face_is_captioned_as_an_aligned_face_not_as_no_face_found(app):
    shown = texts(_hand_over(app))
    assert "already aligned" in shown and "Prediction:" in shown
    assert "0 faces found" not in shown and "detector: none" not in shown


@pytest.mark.parametrize("score, text", [(0.996, "0.99"), (1.0, "1.00"), (0.5, "0.50"),
                                         (0.9999999, "0.99")])
def test_a_score_reads_no_higher_than_it_is(score, text):
    assert score_text(score) == text


def test_every_face_labelled_with_a_score_passes_a_threshold_of_that_score(app, two_faces_jpeg):
    from dashboard import resources

    upload(app, "two.jpg", two_faces_jpeg)
    scores = [f.score for f in resources.photo(two_faces_jpeg, "two.jpg", 48).faces]
    labels = [a["text"] for a in chart(app, "photo_fig")["layout"]["annotations"]]
    for label, score in zip(labels, scores):
        assert float(label.split(" · ")[1]) <= score, (label, score)


def test_an_image_of_one_pixel_is_too_small_to_explain_even_as_a_whole(app):
    upload(app, "dot.png", jpeg(np.full((1, 1, 3), 200, np.uint8)))
    assert not app.exception
    assert "too small to explain" in app.warning[0].value
    assert not [c for c in app.checkbox if c.label == "Explain the whole image anyway"]


def test_no_sample_promises_what_the_page_does_not_do(app):
    app.radio(key="source").set_value("Sample").run()
    assert not [n for n in app.selectbox(key="sample").options if "centre is used" in n]
