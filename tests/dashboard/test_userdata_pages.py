"""Your own labelled faces on the Confusion, Regions and Trust pages (AppTest)."""

from __future__ import annotations

import time

import pytest

from tests.dashboard.test_pages import charts, go, texts
from tests.dashboard.test_zipfaces import make_zip, png
from tests.data.userfaces import crop_folder


def shows_matrix(at) -> bool:
    return "Accuracy on the shared classes" in [m.label for m in at.metric]


def until(at, done, seconds: float = 240):
    """Rerun the page until ``done(at)``: the job runs in a background thread."""
    deadline = time.time() + seconds
    while not done(at):
        assert time.time() < deadline, texts(at)
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def labelled_zip() -> bytes:
    return make_zip({f"faces/{folder}/{i}.png": png(10 * k + i)
                     for k, folder in enumerate(["Happy", "angry", "SAD"]) for i in range(4)})


def test_an_uploaded_zip_shows_its_confusion_matrix(app):
    go(app, "confusion")
    app.checkbox(key="user_aligned").check()
    app.file_uploader(key="user_zip").set_value(("faces.zip", labelled_zip(), "application/zip"))
    app.run()
    until(app, shows_matrix)
    assert "12 faces from 12 image files" in texts(app)
    assert app.get("plotly_chart")


def test_an_unsafe_zip_is_refused_with_the_reason(app):
    go(app, "confusion")
    bad = make_zip({"../happy/1.png": png(1)})
    app.file_uploader(key="user_zip").set_value(("bad.zip", bad, "application/zip"))
    app.run()
    assert not app.exception
    assert "outside the archive" in app.error[0].value


def test_a_server_folder_from_the_environment_on_every_analysis_page(app_env, tmp_path,
                                                                     monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP

    folder = crop_folder(tmp_path / "faces", {"happy": 3, "sad": 3, "contempt": 2})
    monkeypatch.setenv("DEEP_EMOTION_USER_DATA", f"folder:{folder}?aligned=1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    go(at, "confusion")
    at.selectbox(key="user_source").set_value(f"folder:{folder}?aligned=1")
    at.run()
    until(at, shows_matrix)
    assert "left out (the network lacks them): contempt" in texts(at)
    go(at, "regions")
    until(at, lambda a: "Class-mean maps" in texts(a), seconds=600)
    assert charts(at) >= 3
    go(at, "trust")
    assert "Faithfulness" in texts(at)


def test_an_uploaded_zip_and_its_analyses_never_touch_the_disk(app, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("DEEP_EMOTION_CACHE", str(cache))
    # faces no other test uploads, so no finished job of this process answers for them
    zipped = make_zip({f"mine/{folder}/{i}.png": png(500 + 10 * k + i)
                       for k, folder in enumerate(["happy", "sad"]) for i in range(3)})
    go(app, "confusion")
    app.checkbox(key="user_aligned").check()
    app.file_uploader(key="user_zip").set_value(("mine.zip", zipped, "application/zip"))
    app.run()
    until(app, shows_matrix)
    go(app, "regions")
    until(app, lambda a: "Class-mean maps" in texts(a), seconds=600)
    assert charts(app) >= 3
    assert [p for p in cache.rglob("*")] == []


def test_finished_jobs_beyond_the_limit_go_least_recently_used_first(monkeypatch):
    from dashboard import userdata

    monkeypatch.setattr(userdata, "MAX_JOBS", 2)
    jobs = userdata._jobs()
    saved = dict(jobs)
    jobs.clear()
    try:
        for name in ("a", "b"):
            jobs[(name,)] = userdata.Job(name, finished=True)
        userdata._forget_least_used()
        assert list(jobs) == [("a",), ("b",)]  # at the limit: all kept
        assert userdata._kept(("a",)).label == "a"  # "a" is now the most recently used
        jobs[("c",)] = userdata.Job("c", finished=True)
        jobs[("running",)] = userdata.Job("running")
        userdata._forget_least_used()
        assert list(jobs) == [("c",), ("running",)]  # "b" then "a" went; a running job stays
    finally:
        jobs.clear()
        jobs.update(saved)


@pytest.mark.parametrize("page", ["confusion", "regions", "trust"])
def test_shipped_datasets_stay_the_default(app, page):
    go(app, page)
    assert app.selectbox(key="user_source").value == "shipped datasets"


def test_your_data_is_checked_on_as_many_faces_as_the_shipped_analyses():
    """A sanity verdict needs MIN_DEFINED_FACES faces with a map; the dashboard once sampled
    8, so no upload ever got one."""
    from dashboard import userdata
    from deep_emotion.explain import AnalyzeConfig
    from deep_emotion.explain.metrics import MIN_DEFINED_FACES

    config = userdata.analysis_config()
    shipped = AnalyzeConfig()
    assert (config.sanity_faces, config.faithfulness_faces) == (shipped.sanity_faces,
                                                                shipped.faithfulness_faces)
    assert config.sanity_faces >= MIN_DEFINED_FACES


def test_face_regions_on_your_data_are_headed_with_your_dataset(app_env):
    """Not "FER2013 (network fer2013): 213 test faces" over the maps of an upload."""
    from dashboard.views.regions import _heading

    heading = _heading("fer2013", {"faces": 12}, "faces.zip")
    assert heading.startswith("**faces.zip** (network `fer2013`): 12 faces of your data")
    assert "FER2013" not in heading and "test faces" not in heading
    assert _heading("fer2013", {"faces": 70}, None).startswith("**FER2013** (network `fer2013`)")


@pytest.mark.parametrize("page", ["regions", "trust", "explain", "confusion"])
def test_an_uploaded_zip_stays_chosen_on_every_page(app, page):
    go(app, "confusion")
    app.file_uploader(key="user_zip").set_value(("faces.zip", labelled_zip(), "application/zip"))
    app.run()
    assert app.selectbox(key="user_source").value == "faces.zip"
    go(app, "model_card")  # a page that does not use it, then one that does
    go(app, page)
    assert app.selectbox(key="user_source").value == "faces.zip"
    assert app.file_uploader(key="user_zip").value.name == "faces.zip"


def test_a_typed_folder_is_chosen_when_enter_is_pressed(app, tmp_path):
    from dashboard.userdata import as_spec

    folder = crop_folder(tmp_path / "faces", {"happy": 2, "sad": 2})
    go(app, "confusion")
    app.text_input(key="user_data_path").input(str(folder)).run()
    assert app.selectbox(key="user_source").value == as_spec(str(folder))
