"""Every page through ``streamlit.testing.v1.AppTest`` on ``dashboard/app.py``.

Uploads go through ``file_uploader``/``camera_input`` (supported by AppTest since Streamlit
1.56); each test asserts no exception element and the element that proves the page worked.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from deep_emotion.explain import METHODS
from deep_emotion.predict import TTA_MODES
from tests.dashboard.conftest import APP, CK, FER

PAGES = ["explain", "confusion", "regions", "trust", "model_card"]
needs_data = pytest.mark.skipif(not os.environ.get("DEEP_EMOTION_DATA"),
                                reason="real-data tier: set DEEP_EMOTION_DATA")


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"page_scripts/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


TEXT_KINDS = ("title", "subheader", "markdown", "caption", "info", "error", "warning", "metric")


def texts(at: AppTest, folded: bool = True) -> str:
    """Every text on the page; with ``folded=False``, only what is not inside an expander
    (what a person reads without opening anything)."""
    inside = [] if folded else [e for ex in at.expander for kind in TEXT_KINDS
                                for e in getattr(ex, kind)]
    parts = [str(e.value) for kind in TEXT_KINDS for e in getattr(at, kind)
             if not any(e is i for i in inside)]
    return "\n".join(parts)


def folded_away(at: AppTest, label: str) -> str:
    """The texts inside the expander labelled ``label``."""
    box = next(ex for ex in at.expander if ex.label == label)
    return "\n".join(str(e.value) for kind in TEXT_KINDS for e in getattr(box, kind))


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app, page):
    go(app, page)
    assert app.title[0].value
    assert app.sidebar.selectbox(key="checkpoint").value == "fer2013"


@pytest.mark.parametrize("page", PAGES)
def test_no_checkpoint_says_what_to_do(tmp_path, monkeypatch, page):
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    go(at, page)
    assert "No checkpoint found" in texts(at)


# --- Explain a face ------------------------------------------------------------------------

def test_explain_upload(app, astronaut_jpeg):
    app.file_uploader(key="upload").set_value(("astronaut.jpg", astronaut_jpeg, "image/jpeg"))
    app.run()
    assert not app.exception
    out = texts(app)
    assert "Prediction:" in out and "1 face found" in out
    assert charts(app) == 6  # photo, bars, STN panels, occlusion, curves, other methods
    assert [b.label for b in app.get("download_button")] == ["Maps (PNG)", "Maps (NPZ)", "Report (JSON)"]
    assert [m.label for m in app.metric] == ["STN ↔ occlusion", "Rank correlation", "Deletion AUC"]


def test_explain_defaults_to_the_methods_that_pass_both_checks(app, astronaut_jpeg):
    app.file_uploader(key="upload").set_value(("astronaut.jpg", astronaut_jpeg, "image/jpeg"))
    app.run()
    assert app.multiselect(key="methods_fer2013").value == ["gradcam"]
    app.multiselect(key="methods_fer2013").set_value(["saliency", "ig", "gradcam"]).run()
    assert not app.exception
    spec = json.loads(app.get("plotly_chart")[-1].proto.spec)
    grid = " ".join(a["text"] for a in spec["layout"]["annotations"])
    assert "Saliency (|gradient|)<br>(fails the sanity check)" in grid
    assert "Integrated gradients<br>(no better than a random map)" in grid
    assert "Grad-CAM<br>(" not in grid  # passes both: no note
    app.sidebar.selectbox(key="checkpoint").set_value("ckplus").run()  # no analysis: no verdicts
    assert app.multiselect(key="methods_ckplus").value == []


def test_explain_bad_upload_is_an_error_not_a_traceback(app):
    app.file_uploader(key="upload").set_value(("face.png", b"this is not an image", "image/png"))
    app.run()
    assert not app.exception
    assert app.error and "cannot be used" in app.error[0].value


def test_explain_camera(app, astronaut_jpeg):
    app.radio(key="source").set_value("Camera").run()
    app.camera_input(key="camera").set_value(("shot.jpg", astronaut_jpeg, "image/jpeg"))
    app.run()
    assert not app.exception
    assert "Prediction:" in texts(app)


def test_explain_builtin_samples(app):
    app.radio(key="source").set_value("Sample").run()
    assert not app.exception
    assert "Prediction:" in texts(app)
    builtin = [n for n in app.selectbox(key="sample").options if "test face" not in n]
    assert len(builtin) == 3
    app.selectbox(key="sample").set_value(builtin[1]).run()  # two faces: the picker appears
    assert not app.exception and len(app.radio(key="face_index").options) == 2
    app.selectbox(key="sample").set_value(builtin[2]).run()  # the cat: no face, a warning
    assert not app.exception
    assert "0 faces found" in texts(app) and app.warning


def upload(app: AppTest, name: str, data: bytes, mime: str = "image/jpeg") -> AppTest:
    app.file_uploader(key="upload").set_value((name, data, mime))
    return app.run()


def no_exception(app: AppTest, what) -> None:
    assert not app.exception, (what, [e.value for e in app.exception])


def test_explain_every_control_over_its_whole_range(app, astronaut_jpeg):
    """Each slider end to end, and the pair that interacts (window, stride) on both sides of
    the diagonal; every baseline, TTA mode, class and method together; never an exception."""
    upload(app, "astronaut.jpg", astronaut_jpeg)
    window, stride = app.slider(key="occ_window"), app.slider(key="occ_stride")
    windows = range(int(window.min), int(window.max) + 1)
    strides = range(int(stride.min), int(stride.max) + 1)
    stride.set_value(strides[-1])  # every window below the longest stride, then above it
    for w in windows:
        app.slider(key="occ_window").set_value(w).run()
        no_exception(app, ("window", w))
    app.slider(key="occ_window").set_value(windows[0])  # every stride against the smallest window
    for s in strides:
        app.slider(key="occ_stride").set_value(s).run()
        no_exception(app, ("stride", s))
        used = min(s, windows[0])
        assert f"stride {used}," in texts(app) + str(chart(app, "occlusion_fig")["layout"])
    for baseline in app.selectbox(key="occ_baseline").options:
        app.selectbox(key="occ_baseline").set_value(baseline).run()
        no_exception(app, baseline)
    for tta in TTA_MODES:
        app.selectbox(key="tta").set_value(tta).run()
        no_exception(app, tta)
    for target in app.selectbox(key="target_fer2013").options:
        app.selectbox(key="target_fer2013").set_value(target).run()
        no_exception(app, target)
    assert "Why “neutral”" in texts(app)
    every = [m for m in METHODS if m not in ("occlusion", "stn")]
    app.multiselect(key="methods_fer2013").set_value(every).run()
    no_exception(app, every)
    assert charts(app) == 5 + -(-len(every) // 3)  # other methods three to a row


def test_explain_a_window_below_the_stride_is_corrected_with_a_note(app, astronaut_jpeg):
    upload(app, "astronaut.jpg", astronaut_jpeg)
    app.slider(key="occ_window").set_value(2)
    app.slider(key="occ_stride").set_value(4).run()
    no_exception(app, "window 2, stride 4")
    assert any("longer than the window" in i.value for i in app.info)
    assert "Occlusion (2px window, stride 2, black)" in str(chart(app, "occlusion_fig")["layout"])


def test_explain_a_chosen_class_is_told_apart_from_the_prediction(app, astronaut_jpeg, monkeypatch):
    saved = {}
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    keep = MemoryMediaFileStorage.load_and_get_id

    def spy(self, data, mimetype, kind, filename=None):
        saved[filename] = data
        return keep(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    upload(app, "astronaut.jpg", astronaut_jpeg)
    predicted = next(h.value for h in app.subheader if h.value.startswith("Prediction: "))
    predicted = predicted.removeprefix("Prediction: ")
    other = next(i for i, c in enumerate(FER) if c != predicted)
    app.selectbox(key="target_fer2013").set_value(other).run()
    no_exception(app, other)
    assert f"Prediction: {predicted}" in texts(app) and f"Why “{FER[other]}”" in texts(app)
    report = json.loads(saved["deep-emotion-report.json"])
    assert report["prediction"] == predicted and report["explained_class"] == FER[other]
    assert report["face"] == 1 and report["framing"] == "detected face"


def test_explain_faces_are_numbered_alike_on_the_photo_the_page_and_the_report(
        app, two_faces_jpeg, monkeypatch):
    saved = {}
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    keep = MemoryMediaFileStorage.load_and_get_id
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id",
                        lambda self, data, mime, kind, filename=None:
                        saved.__setitem__(filename, data) or keep(self, data, mime, kind, filename))
    upload(app, "two.jpg", two_faces_jpeg)
    app.radio(key="face_index").set_value(1).run()
    no_exception(app, "face 2")
    assert any(h.value.endswith("(face 2)") for h in app.subheader)
    assert json.loads(saved["deep-emotion-report.json"])["face"] == 2
    labels = [a["text"] for a in chart(app, "photo_fig")["layout"]["annotations"]]
    assert [t.split(" · ")[0] for t in labels] == ["face 1", "face 2"]
    assert all(0.9 <= float(t.split(" · ")[1]) <= 1 for t in labels)  # the detector's score


def test_explain_a_score_threshold_hides_low_scoring_faces(app, two_faces_jpeg):
    upload(app, "two.jpg", two_faces_jpeg)
    assert len(app.radio(key="face_index").options) == 2
    app.slider(key="face_threshold").set_value(1.0).run()
    no_exception(app, "threshold 1.0")
    assert "2 faces found, 2 hidden below score 1.00" in texts(app)
    assert "Prediction" not in texts(app) and app.warning
    assert "annotations" not in chart(app, "photo_fig")["layout"]


@pytest.mark.parametrize("size", [(1, 1), (20, 12)])
def test_explain_an_image_too_small_for_a_face_says_so_and_predicts_nothing(app, size):
    import numpy as np

    from tests.dashboard.conftest import jpeg

    upload(app, "tiny.jpg", jpeg(np.full((*size[::-1], 3), 200, np.uint8)))
    no_exception(app, size)
    assert "too small to hold a face" in app.warning[0].value
    assert not [h for h in app.subheader if "Prediction" in h.value] and charts(app) == 1


def test_explain_no_face_predicts_nothing_until_the_whole_image_is_asked_for(app):
    app.radio(key="source").set_value("Sample").run()
    cat = next(n for n in app.selectbox(key="sample").options if "cat" in n)
    app.selectbox(key="sample").set_value(cat).run()
    assert "No face was found" in app.warning[0].value
    assert "Prediction" not in texts(app) and charts(app) == 1  # the photo only
    box = next(c for c in app.checkbox if c.label == "Explain the whole image anyway")
    box.check().run()
    no_exception(app, "whole image")
    assert any(h.value.startswith("Whole image, no face: ") for h in app.subheader)
    assert "Explained on request" in texts(app)


def test_explain_uploads_are_judged_by_content_not_by_name(app, astronaut_jpeg):
    assert app.file_uploader(key="upload").proto.type == []  # no extension filter to refuse
    upload(app, "IMG_0042.heic", astronaut_jpeg, "image/heic")
    no_exception(app, "heic")
    assert "Prediction:" in texts(app) and "read as JPEG" in texts(app)


@pytest.mark.parametrize("name, data", [
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
    ("notes.jpg", b"this is not an image"),
    ("huge.jpg", b"\xff\xd8\xff" + bytes(30 * 2**20)),
])
def test_explain_a_refused_upload_is_an_error_that_replaces_the_last_result(
        app, astronaut_jpeg, name, data):
    upload(app, "astronaut.jpg", astronaut_jpeg)
    assert "Prediction:" in texts(app)
    upload(app, name, data, "application/octet-stream")
    no_exception(app, name)
    assert len(app.error) == 1 and app.error[0].value.startswith("This photo cannot be used: ")
    assert "Prediction" not in texts(app) and charts(app) == 0
    if name == "huge.jpg":
        assert "the limit is 30 MB" in app.error[0].value


def test_explain_picker_for_several_faces(app, two_faces_jpeg):
    app.file_uploader(key="upload").set_value(("two.jpg", two_faces_jpeg, "image/jpeg"))
    app.run()
    assert not app.exception
    picker = app.radio(key="face_index")
    assert len(picker.options) == 2
    picker.set_value(1).run()
    assert not app.exception
    assert "2 faces found" in texts(app)


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure drawn with ``key`` as a dict (data, layout)."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


def test_switch_checkpoint(app, astronaut_jpeg):
    app.file_uploader(key="upload").set_value(("astronaut.jpg", astronaut_jpeg, "image/jpeg"))
    app.run()
    assert sorted(chart(app, "probs_fig")["data"][0]["y"]) == sorted(FER)
    app.sidebar.selectbox(key="checkpoint").set_value("ckplus").run()
    assert not app.exception
    # the CK+ head answers now: contempt among the bars, no neutral
    assert sorted(chart(app, "probs_fig")["data"][0]["y"]) == sorted(CK)
    prediction = [h.value for h in app.subheader if h.value.startswith("Prediction: ")]
    assert len(prediction) == 1 and prediction[0].removeprefix("Prediction: ") in CK
    assert "Checkpoint **ckplus**" in texts(app)
    go(app, "confusion")
    assert chart(app, "cm_fig_0")["data"][0]["x"] == list(CK)
    assert app.metric[0].help.startswith("ckplus on ")
    for page in ("regions", "trust"):  # ckplus has no analyses: the page says so by name
        go(app, page)
        assert "No precomputed analyses for **ckplus**" in texts(app)
    go(app, "model_card")
    assert "Checkpoint **ckplus**" in texts(app)


# --- Confusion matrices --------------------------------------------------------------------

def test_confusion_from_card_every_control(app):
    go(app, "confusion")
    assert charts(app) >= 2
    views = app.selectbox(key="cm_view").options
    assert len(views) == 4  # test x 3 TTA + val
    for view in [("test", "flip"), ("test", "tencrop"), ("val", "none")]:
        app.selectbox(key="cm_view").set_value(view).run()
        assert not app.exception
        assert f"TTA {view[1]}" in app.metric[0].help
        assert re.fullmatch(r"\d{1,3}\.\d\d%", app.metric[0].value)  # as precise as the README
    app.radio(key="cm_norm").set_value("row-normalised").run()
    assert not app.exception
    app.selectbox(key="cell_true").set_value("fear")
    app.selectbox(key="cell_pred").set_value("sadness").run()
    assert not app.exception


def test_confusion_without_datasets_offers_only_the_card_and_speaks_plainly(app, monkeypatch):
    monkeypatch.delenv("DEEP_EMOTION_DATA", raising=False)
    go(app, "confusion")
    assert app.selectbox(key="cm_dataset").options == ["FER2013"]  # the card's own numbers
    shown = texts(app, folded=False)
    assert "photos are not on this server" in shown
    for developer_text in ("DEEP_EMOTION_DATA", "--data-dir", "deep-emotion "):
        assert developer_text not in shown
    # whoever runs the server finds where the files go and which variable names the folder
    setup = folded_away(app, "Running this server? Where the photos go")
    assert "`fer2013/fer2013.csv`" in setup and "DEEP_EMOTION_DATA=/path/to/datasets" in setup


@needs_data
@pytest.mark.realdata
def test_confusion_cross_dataset_and_cell_faces(app):
    go(app, "confusion")
    app.selectbox(key="cm_dataset").set_value("ckplus").run()
    assert not app.exception
    assert "Cross-dataset view" in texts(app)
    assert any("shared classes" in m.label for m in app.metric)
    app.selectbox(key="cm_dataset").set_value("fer2013").run()
    for true in ("happiness", "neutral"):
        app.selectbox(key="cell_true").set_value(true)
        for pred in app.selectbox(key="cell_pred").options:
            app.selectbox(key="cell_pred").set_value(pred).run()
            assert not app.exception
            shown = [c.value for c in app.caption if "are **" in c.value][0]
            if not shown.startswith("0 "):
                assert [e for e in app.main if e.type == "image"], shown
                return
    pytest.fail("a random network predicted no class at all")


# --- Regions, trust, model card -------------------------------------------------------------

def test_regions_every_control(app):
    go(app, "regions")
    assert charts(app) >= 4
    for emotion in app.selectbox(key="region_emotion").options:
        app.selectbox(key="region_emotion").set_value(emotion).run()
        assert not app.exception
    app.radio(key="agreement_measure").set_value("topk_iou").run()
    app.multiselect(key="region_methods").set_value(["occlusion"]).run()
    assert not app.exception
    app.multiselect(key="region_methods").set_value([]).run()
    assert "Pick at least one method" in texts(app)


def test_regions_and_trust_without_analyses_say_how_to_make_them(app):
    app.sidebar.selectbox(key="checkpoint").set_value("ckplus").run()
    for page in ("regions", "trust"):
        go(app, page)
        assert "deep-emotion analyze --checkpoint ckplus" in texts(app)


def test_trust_every_control(app):
    go(app, "trust")
    assert charts(app) == 2
    assert "most faithful" in texts(app)
    app.radio(key="trust_curves").set_value("insertion").run()
    assert not app.exception
    assert len(app.dataframe) == 2


def test_model_card(app):
    go(app, "model_card")
    assert charts(app) == 2  # architecture, training curves
    assert app.metric[0].value == "76,797"
    # network and training settings, split sizes, results beside the paper
    assert len(app.dataframe) == 4
    network, training = (" ".join(t.value["setting"]) for t in app.dataframe[:2])
    assert "attention branch filters" in network and "learning rate" in training
    assert "_" not in network + training  # settings read in words, never as config keys


def test_model_card_cross_validated(app):
    app.sidebar.selectbox(key="checkpoint").set_value("ckplus").run()
    go(app, "model_card")
    assert charts(app) >= 2
    app.selectbox(key="history_fold").set_value("fold1").run()
    assert not app.exception


# --- A fresh clone: only the shipped checkpoints, no datasets ---------------------------------

def _shipped() -> list[str]:
    from deep_emotion.catalog import list_checkpoints

    return list_checkpoints(Path(__file__).resolve().parents[2] / "checkpoints")


@pytest.mark.skipif(not _shipped(), reason="no checkpoints shipped in checkpoints/ yet")
@pytest.mark.parametrize("name", _shipped() or ["none"])
def test_shipped_checkpoints_every_page_without_data(name, monkeypatch, astronaut_jpeg):
    monkeypatch.delenv("DEEP_EMOTION_CHECKPOINTS", raising=False)
    monkeypatch.delenv("DEEP_EMOTION_DATA", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="checkpoint").set_value(name).run()
    at.file_uploader(key="upload").set_value(("astronaut.jpg", astronaut_jpeg, "image/jpeg"))
    at.run()
    assert not at.exception
    assert "Prediction:" in texts(at)
    for page in PAGES[1:]:
        go(at, page)
        assert not at.error, [e.value for e in at.error]
        if page == "trust":  # every shipped analysis carries intervals, so verdicts are shown
            assert not [w.value for w in at.warning if "no verdict" in w.value]


def test_trust_says_when_a_small_test_split_gives_fewer_faces_than_asked(monkeypatch):
    from deep_emotion.explain.analyze import load_analysis

    folder = Path(__file__).resolve().parents[2] / "checkpoints"
    analyses = {n: load_analysis(n) for n in _shipped()
                if (folder / f"{n}.analysis.json").is_file()}
    small = [n for n, a in analyses.items() if a["sanity"]["faces"] < a["config"]["sanity_faces"]]
    if not small:
        pytest.skip("every shipped analysis ran its checks on as many faces as it asked for")
    monkeypatch.delenv("DEEP_EMOTION_CHECKPOINTS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="checkpoint").set_value(small[0]).run()
    faces = analyses[small[0]]["sanity"]["faces"]
    assert f"holds only {faces} faces" in texts(go(at, "trust"))


def _model_card_of_first_shipped(belongs, why_none: str, monkeypatch) -> AppTest:
    """The Model card page of the first shipped checkpoint whose card ``belongs(card)``."""
    from deep_emotion.checkpoints import read_card

    folder = Path(__file__).resolve().parents[2] / "checkpoints"
    name = next((n for n in _shipped() if belongs(read_card(folder / n))), None)
    if name is None:
        pytest.skip(why_none)
    monkeypatch.delenv("DEEP_EMOTION_CHECKPOINTS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="checkpoint").set_value(name).run()
    return go(at, "model_card")


def test_the_model_card_of_a_shipped_paper_style_row_shows_its_seed_study(monkeypatch):
    from dashboard.studies import seed_study_of

    at = _model_card_of_first_shipped(lambda card: seed_study_of(card.get("weights_sha256", "")),
                                      "no shipped checkpoint belongs to a seed study", monkeypatch)
    headers = [h.value for h in at.subheader]
    assert "Over training seeds" in headers
    # settings (2), split sizes, results beside the paper, seeds (and the recipe study)
    assert len(at.dataframe) == 5 + ("How the recipe was chosen" in headers)
    assert "chosen by validation alone" in " ".join(c.value for c in at.caption)


def test_the_model_card_of_a_row_whose_recipe_a_study_chose_shows_that_study(monkeypatch):
    from deep_emotion.checkpoints import read_card
    from dashboard.studies import recipe_study_of

    at = _model_card_of_first_shipped(
        recipe_study_of, "no shipped checkpoint's recipe was chosen by a recipe study", monkeypatch)
    assert "How the recipe was chosen" in [h.value for h in at.subheader]
    table = at.dataframe[-1].value
    assert (table["chosen"] == "✓").sum() == 1 and "held-out faces right" in table
    recipes = " ".join(table["recipe"])  # in words: "random erasing: off", not augment.erase=0
    assert "=" not in recipes and "_" not in recipes
    captions = " ".join(c.value for c in at.caption)
    assert "test faces were never used" in captions
    shown = Path(__file__).resolve().parents[2] / "checkpoints" / at.sidebar.selectbox(
        key="checkpoint").value
    margin = recipe_study_of(read_card(shown))["margin_faces"]
    assert (f"at least {margin + 1} more held-out faces right" in captions) == (margin > 0)


@needs_data
@pytest.mark.realdata
def test_explain_dataset_sample_is_used_as_aligned(app):
    app.radio(key="source").set_value("Sample").run()
    names = app.selectbox(key="sample").options
    fer = [n for n in names if n.startswith("FER2013 test face")]
    assert len(fer) == 7
    app.selectbox(key="sample").set_value(fer[0]).run()
    assert not app.exception
    out = texts(app)
    assert "already aligned" in out and "Prediction:" in out


def test_stale_analyses_are_flagged(app_env, monkeypatch, tmp_path):
    import json
    import shutil

    for f in app_env.glob("fer2013*"):
        shutil.copy(f, tmp_path / f.name)
    analysis = tmp_path / "fer2013.analysis.json"
    data = json.loads(analysis.read_text()) | {"weights_sha256": "0" * 64}
    analysis.write_text(json.dumps(data))
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for page in ("regions", "trust"):
        go(at, page)
        assert at.warning and "earlier weights" in at.warning[0].value
