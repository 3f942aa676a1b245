"""Words a first-time user meets: every technical term a page uses is in the Glossary, and the
network list says what each percentage measures."""

from __future__ import annotations

import json
import re

import pytest

from dashboard import wording
from tests.dashboard.test_pages import go, upload

# Technical terms a page may use, each as it appears on a page (case-insensitive); the test
# collects those a page actually shows and requires a Glossary entry naming each.
TERMS = ("logit drop", "IoU", "bootstrap", "Grad-CAM", "integrated gradients", "SmoothGrad",
         "saliency", "precision", "recall", "F1", "window", "stride", "baseline", "occlusion",
         "STN", "TTA", "fold", "protocol", "sanity", "faithful", "AUC", "rank correlation",
         "checkpoint", "attribution", "spatial transformer", "confidence interval", "interval",
         "fine-tuned", "knock-out", "random region", "human reference", "permutation test",
         "FACS", "tile")
ALIASES = {"faithful": "faithfulness", "sanity": "sanity check", "interval": "confidence interval",
           "tile": "tile uncovering"}


def _everything_shown(at) -> str:
    """Texts, widget labels and help, table columns and chart titles of the current page."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "error", "warning",
                 "metric", "selectbox", "multiselect", "radio", "slider", "checkbox"):
        for e in getattr(at, kind):
            parts += [str(getattr(e, a, "") or "") for a in ("value", "label", "help")]
    parts += [" ".join(map(str, df.value.reset_index().columns)) for df in at.dataframe]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        parts.append(json.dumps(spec.get("layout", {}).get("title", "")))
        parts += [a.get("text", "") for a in spec.get("layout", {}).get("annotations", [])]
        parts += [str(t.get("colorbar", {}).get("title", "")) for t in spec.get("data", [])]
    return "\n".join(parts)


def _in_glossary(term: str) -> bool:
    wanted = ALIASES.get(term, term).lower()
    return any(wanted in key.lower() for key in wording.GLOSSARY)


@pytest.mark.parametrize("page", ["explain", "confusion", "regions", "trust", "model_card"])
def test_every_term_a_page_uses_is_in_the_glossary(app, astronaut_jpeg, page):
    if page == "explain":
        upload(app, "astronaut.jpg", astronaut_jpeg)
        app.multiselect(key="methods_fer2013").set_value(["saliency", "ig", "smoothgrad",
                                                          "gradcam"]).run()
    else:
        go(app, page)
    shown = _everything_shown(app)
    used = [t for t in TERMS if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", shown, re.I)]
    assert used  # every page speaks of something technical
    missing = [t for t in used if not _in_glossary(t)]
    assert not missing, (page, missing)


def test_the_issues_terms_are_all_explained():
    for term in ("logit drop", "IoU", "bootstrap", "Grad-CAM", "integrated gradients",
                 "SmoothGrad", "saliency", "precision", "recall", "F1", "window", "stride",
                 "baseline"):
        assert _in_glossary(term), term


def _card(ds, acc, classes=7):
    return {"dataset": {"name": ds}, "classes": [f"c{i}" for i in range(classes)],
            "metrics": {"test": {"none": {"accuracy": acc}}}}


def test_networks_are_grouped_by_what_their_percentage_measures():
    cards = {"fer2013": _card("fer2013", 0.63), "ferplus_wide": _card("ferplus", 0.80, 8),
             "fer2013_wide": _card("fer2013", 0.65), "ckplus": _card("ckplus", 0.97),
             "jaffe": _card("jaffe", 0.9)}
    order = wording.checkpoint_order(cards)
    assert order == ["fer2013_wide", "fer2013", "ferplus_wide", "ckplus", "jaffe"]
    assert [wording.checkpoint_group(cards[n]) for n in order] == [
        "everyday photos, 7 emotions", "everyday photos, 7 emotions",
        "everyday photos, 8 emotions", "posed photos", "posed photos"]


def test_each_network_line_says_what_its_percentage_is():
    line = wording.checkpoint_line("ckplus", _card("ckplus", 0.97))
    assert "97% of CK+ test photos right" in line
    assert "cannot be compared" in wording.CHECKPOINT_HELP
