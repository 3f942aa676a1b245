"""The dashboard's seam to the core: photos, faces, downloads; and house rules."""

from __future__ import annotations

import ast
import re
import io
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from dashboard import reports
from tests.dashboard.conftest import FER, ROOT, make_checkpoint

PAGE_SCRIPTS = ROOT / "dashboard" / "page_scripts"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from deep_emotion.checkpoints import load_checkpoint

    folder = tmp_path_factory.mktemp("ck")
    return load_checkpoint(make_checkpoint(folder, "fer2013", FER, "fer2013"))


@pytest.fixture(scope="module")
def face():
    return np.random.default_rng(0).integers(0, 256, (48, 48)).astype(np.uint8)


def test_photo_finds_the_astronaut_through_the_face_path(astronaut_jpeg):
    from dashboard import resources

    photo = resources.photo(astronaut_jpeg, "astronaut.jpg", 48)
    assert photo.image.rgb.shape == (512, 512, 3) and photo.detection_ran
    assert len(photo.faces) == 1
    x, y, w, h = photo.faces[0].box
    assert 150 < x < 230 and 50 < y < 130 and 50 < w < 130  # her face, not the flag
    assert photo.crops[0].shape == (48, 48) and photo.crops[0].dtype == np.uint8
    assert resources.photo(astronaut_jpeg, "astronaut.jpg", 64).crops[0].shape == (64, 64)


def test_dataset_face_is_used_as_is():
    from PIL import Image

    from dashboard import resources

    gray = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    photo = resources.photo(buf.getvalue(), "FER2013 test face: anger", 48, aligned=True)
    assert not photo.detection_ran and photo.faces == ()
    np.testing.assert_array_equal(photo.crops[0], gray)


def test_downloads_name_the_prediction_and_the_explained_class_apart(ckpt, face):
    from deep_emotion.explain import explain_face

    plain = explain_face(ckpt, face, ("stn", "occlusion", "saliency"), stride=8, trust=True)
    other = (plain.prediction + 1) % len(FER)
    r = explain_face(ckpt, face, ("stn", "occlusion", "saliency"), other, stride=8, trust=True)
    context = {"checkpoint": "fer2013", "face": 4, "framing": "detected face"}
    report = json.loads(reports.report_json(r, context))
    assert report["checkpoint"] == "fer2013" and report["face"] == 4
    assert report["prediction"] == FER[plain.prediction] != report["explained_class"] == FER[other]
    assert report["prediction_probability"] == max(report["probabilities"].values())
    assert abs(sum(report["probabilities"].values()) - 1) < 1e-4
    assert report["methods"] == ["occlusion", "saliency"]
    assert 0 <= report["deletion_auc_occlusion"] <= 1
    with np.load(io.BytesIO(reports.maps_npz(face, r, context))) as npz:
        assert {"face", "probs", "theta", "stn_heatmap", "map_occlusion", "map_saliency"} <= set(npz.files)
        assert str(npz["prediction"]) == FER[plain.prediction]
        assert str(npz["explained_class"]) == FER[other] and str(npz["framing"]) == "detected face"
    title = reports._title(r, context)
    assert title.startswith(f"prediction: {FER[plain.prediction]} (") and f"maps explain: {FER[other]}" in title
    png = reports.maps_png(face, r, context)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_streamlit_config():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    # Streamlit's own limit sits above the decoder's, so a too-large photo is refused by our
    # message on the page, not by a tooltip on the file chip.
    from deep_emotion.faces import MAX_BYTES

    assert MAX_BYTES < config["server"]["maxUploadSize"] * 2**20 <= 3 * MAX_BYTES


def test_the_dashboard_listens_on_this_machine_only():
    """With no address, Streamlit listens on every interface and, headless, asks an outside
    host for the machine's external IP on every start."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    readme = (ROOT / "README.md").read_text()
    assert "--server.address 0.0.0.0" in readme  # how to serve a classroom, written down


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_imports_run_pages_to_dashboard_to_core():
    for page in PAGE_SCRIPTS.glob("*.py"):
        mods = _imports(page)
        assert not any(m.startswith("deep_emotion") for m in mods), (page, mods)  # via dashboard
        assert not any(m.startswith("torch") for m in mods), page
    for module in (ROOT / "dashboard").rglob("*.py"):
        if module.parent != PAGE_SCRIPTS:
            assert not any(m.startswith("dashboard.page_scripts") for m in _imports(module)), module
    pure = ("figures.py", "tables.py", "reports.py")
    for name in pure:
        assert "streamlit" not in _imports(ROOT / "dashboard" / name), name


def test_uploads_are_never_written():
    """No dashboard module opens files for writing or saves to a path (uploads stay in memory)."""
    for module in (ROOT / "dashboard").rglob("*.py"):
        src = module.read_text()
        assert not re.search(r"(?<![\w.])open\(", src), module.name  # builtin open
        for bad in (".write_bytes(", ".write_text(", "tempfile", ".save(\"", ".save('"):
            assert bad not in src, (module.name, bad)


def test_the_png_download_draws_occlusion_on_the_pages_signed_scale(ckpt, face):
    """The page draws occlusion red/blue around zero with a "logit drop" bar; the PNG must
    too, not on a one-hue min-max scale that turns "no effect" into a colour."""
    from deep_emotion.explain import explain_face

    r = explain_face(ckpt, face, ("stn", "occlusion", "saliency"), stride=8)
    fig = reports.maps_figure(face, r, {"framing": "detected face"},
                              {"occlusion": "Occlusion", "saliency": "Saliency"})
    heat = {ax.get_title(): ax.get_images()[-1] for ax in fig.axes if ax.get_images()}
    occlusion = heat["Occlusion"]
    assert occlusion.get_cmap().name == "RdBu_r"
    assert occlusion.norm.vmin == -occlusion.norm.vmax == -float(np.abs(r.maps["occlusion"].map).max())
    assert any(ax.get_xlabel() == "logit drop" for ax in fig.axes)
    assert heat["Saliency"].get_cmap().name == "inferno"  # unsigned maps keep their own scale


def test_each_page_script_calls_exactly_one_page_module():
    """docs/ARCHITECTURE.md, "Where a new page's code goes": ``page_scripts/NAME.py`` only calls
    ``dashboard/views/NAME.py``'s ``render``, and the frame's navigation lists every page."""
    app = (ROOT / "dashboard" / "app.py").read_text()
    scripts = sorted(p for p in PAGE_SCRIPTS.glob("*.py") if p.name != "__init__.py")
    assert len(scripts) == 8
    for page in scripts:
        tree = ast.parse(page.read_text())
        body = [n for n in tree.body if not isinstance(n, ast.Expr) or not isinstance(
            n.value, ast.Constant)]  # the docstring aside
        assert ast.unparse(ast.Module(body=body, type_ignores=[])).splitlines() == [
            f"from dashboard.views import {page.stem}", f"{page.stem}.render()"], page.name
        view = ROOT / "dashboard" / "views" / page.name
        assert "def render() -> None:" in view.read_text(), view
        assert f'PAGES / "{page.name}"' in app, page.name


def test_the_readme_commands_run_from_a_fresh_clone():
    """Every Python command in the README names the project's interpreter (a bare ``python``
    is the system's, without the dependencies), and no example names a folder a clone lacks."""
    readme = (ROOT / "README.md").read_text()
    assert not re.findall(r"`python |^python ", readme, flags=re.M)
    assert "../shared" not in readme
