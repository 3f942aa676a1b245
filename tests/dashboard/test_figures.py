"""The pure figure and table builders: data in, Plotly figure / DataFrame out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from dashboard import figures, tables
from deep_emotion.explain.attributions import Explainer, make_explainer
from deep_emotion.explain.metrics import sanity_check
from deep_emotion.explain.verdicts import sanity_verdict
from deep_emotion.model import DeepEmotion, DeepEmotionConfig

CLASSES = ["anger", "happiness", "surprise"]


def test_normalise_rows_keeps_zero_rows():
    m = figures.normalise_rows(np.array([[2, 2], [0, 0]]))
    np.testing.assert_allclose(m, [[0.5, 0.5], [0, 0]])


@pytest.mark.parametrize("normalise", [False, True])
def test_confusion_matrix_hover_has_counts(normalise):
    conf = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 5]])
    fig = figures.confusion_matrix(conf, CLASSES, normalise=normalise, title="t")
    hm = fig.data[0]
    assert isinstance(hm, go.Heatmap)
    assert list(hm.x) == CLASSES and list(hm.y) == CLASSES
    cells = fig.data[1]  # invisible markers: hover with raw counts, clickable cells
    assert len(cells.x) == 9 and (cells.x[1], cells.y[1]) == ("happiness", "anger")
    np.testing.assert_allclose(np.asarray(cells.customdata)[:, 0], conf.ravel())
    assert "faces" in cells.hovertemplate
    z = np.asarray(hm.z)
    if normalise:
        np.testing.assert_allclose(z.sum(1), 1.0)
        assert hm.text[0][0] == "80%"
    else:
        np.testing.assert_allclose(z, conf)
        assert hm.text[0][0] == "8"


def test_probability_bars_sorted_and_highlighted():
    fig = figures.probability_bars(CLASSES, [0.2, 0.7, 0.1])
    bar = fig.data[0]
    assert list(bar.y) == ["surprise", "anger", "happiness"]  # ascending: the top bar is largest
    assert bar.marker.color[-1] != bar.marker.color[0]


def test_map_overlay_signed_is_centred_and_has_colour_bar():
    face = np.full((48, 48), 128, np.uint8)
    heat = np.zeros((48, 48))
    heat[10, 10], heat[20, 20] = -2.0, 1.0
    fig = figures.map_overlay(face, heat, "occ", signed=True)
    assert len(fig.data) == 2
    overlay = fig.data[1]
    assert overlay.zmin == -2.0 and overlay.zmax == 2.0
    assert overlay.showscale is not False
    assert fig.layout.yaxis.autorange == "reversed"  # image rows go down


def test_map_overlay_constant_map_does_not_divide_by_zero():
    fig = figures.map_overlay(np.zeros((4, 4)), np.ones((4, 4)))
    assert fig.data[1].zmax > fig.data[1].zmin


def test_map_scale_starts_black():
    assert figures.MAP_SCALE[0][1] == "#000000"


def test_photo_with_faces_boxes_and_jpeg_source():
    rgb = np.zeros((100, 200, 3), np.uint8)
    fig = figures.photo_with_faces(rgb, [(10, 10, 30, 30), (100, 20, 40, 40)], chosen=1)
    assert fig.data[0].source.startswith("data:image/jpeg;base64,")
    assert len(fig.layout.shapes) == 2
    assert fig.layout.shapes[1].line.width > fig.layout.shapes[0].line.width
    assert [a.text for a in fig.layout.annotations] == ["face 1", "face 2"]


def test_photo_with_faces_downscales_big_photos():
    fig = figures.photo_with_faces(np.zeros((1000, 2000, 3), np.uint8), [], max_side=500)
    assert fig.data[0].dx == pytest.approx(4.0)


def test_training_curves_from_history():
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.1 * e, "val_acc": 0.09 * e}
               for e in range(1, 6)]
    fig = figures.training_curves(history)
    assert [t.name for t in fig.data] == ["train loss", "train", "validation"]
    assert list(fig.data[2].y) == [h["val_acc"] for h in history]


@pytest.mark.parametrize("config", [
    {}, {"layout": "input_warp"}, {"use_stn": False}, {"loc_kernels": [7, 5], "num_classes": 8},
    {"input_norm": "per_image"}])
def test_architecture_diagram_follows_config(config):
    fig = figures.architecture_diagram(config)
    text = " ".join(a.text.replace("<br>", " ") for a in fig.layout.annotations)
    assert ("standardised" in text) == (config.get("input_norm") == "per_image")
    assert f"FC ->{config.get('num_classes', 7)}" in text
    assert ("warp: shift, scale, turn" in text) == config.get("use_stn", True)  # no bare "theta"
    assert "theta" not in text
    if config.get("loc_kernels") == [7, 5]:
        assert "FC 640->32" in text  # the popular reimplementation's flatten size
    elif config.get("use_stn", True):
        assert "FC 1000->32" in text


def test_the_residual_familys_diagram_warps_the_input_and_names_every_block():
    config = {"backbone": "residual", "layout": "input_warp", "widths": [24, 48, 72],
              "loc_hidden": 16}
    fig = figures.architecture_diagram(config)
    boxes = [a for a in fig.layout.annotations if a.text]
    main = sorted((a for a in boxes if a.y == 0), key=lambda a: a.x)
    assert [a.text.replace("<br>", " ") for a in main] == [
        "input 1x48x48", "affine warp grid_sample", "conv 3x3 (16) BN, ReLU, pool",
        "residual block (24) pool", "residual block (48) pool", "residual block (72)",
        "dropout average 72x6x6", "FC ->7 classes"]
    text = " ".join(a.text.replace("<br>", " ") for a in boxes)
    assert "FC 1000->16->6" in text
    assert "FC 810->50" not in text  # no paper head
    shapes = [(sh.x0 + sh.x1) / 2 for sh in fig.layout.shapes]
    assert len(shapes) == len(set((round(x, 2), sh.y0) for x, sh in zip(shapes, fig.layout.shapes)))


@pytest.mark.parametrize("config", [
    {}, {"backbone": "residual", "layout": "input_warp", "widths": [24, 48, 72], "loc_hidden": 16}])
def test_every_diagram_label_fits_inside_its_box_on_an_800_px_chart(config):
    """Labels of about 0.6 em per character; each line within its box's width in pixels."""
    fig = figures.architecture_diagram(config)
    x0, x1 = fig.layout.xaxis.range
    box = {round((s.x0 + s.x1) / 2, 3): (s.x1 - s.x0) * 800 / (x1 - x0) for s in fig.layout.shapes}
    for a in fig.layout.annotations:
        if a.text:
            widest = max(len(line) for line in a.text.split("<br>")) * 0.6 * a.font.size
            assert widest <= box[round(a.x, 3)], (a.text, widest, box[round(a.x, 3)])


def test_region_figures():
    regions = ["eyes", "mouth", "other"]
    sens = {"anger": {"eyes": 0.5, "mouth": 0.3, "other": 0.2},
            "happiness": {"eyes": 0.2, "mouth": 0.7, "other": 0.1}}
    fig = figures.region_matrix(sens, regions)
    np.testing.assert_allclose(np.asarray(fig.data[0].z).sum(1), 1.0)
    bars = figures.region_bars({"stn": sens["anger"], "occlusion": sens["happiness"]})
    assert [t.name for t in bars.data] == ["stn", "occlusion"]
    labels = np.zeros((48, 48), int)
    labels[20:30] = 1
    layout = figures.region_layout(labels, regions)
    assert layout.data[-1].customdata[25][0] == "mouth"


def test_class_mean_maps_share_one_scale():
    maps = {c: np.full((48, 48), i, float) for i, c in enumerate(CLASSES)}
    fig = figures.class_mean_maps(maps, columns=2)
    assert {t.zmin for t in fig.data} == {0.0} and {t.zmax for t in fig.data} == {2.0}
    assert sum(1 for t in fig.data if t.showscale) == 1


def test_deletion_curves_report_auc():
    fig = figures.deletion_curves({"occlusion": [1.0, 0.5, 0.0]})
    assert "area 0.500" in fig.data[0].name


class TheFace(Explainer):
    """A "map" that is the face itself: it ignores the network, so randomising cannot move it."""

    name = "the-face"
    values = "|normalised pixel|"

    def _attribute(self, x, target):
        return x.abs().detach(), {}


# what the real randomisation check says of each method in ``sanity_checks``
VERDICTS = {"saliency": "passes", "the-face": "fails", "flip": "undefined"}


@pytest.fixture(scope="module")
def sanity_checks() -> dict:
    """Summaries of ``metrics.sanity_check`` on an untrained network, one method per verdict:
    saliency changes with the weights, the face does not, and no occluded window changes the
    untrained network's decision, so the flip map is blank and its similarity undefined."""
    torch.manual_seed(0)
    model = DeepEmotion(DeepEmotionConfig()).eval()
    # enough faces for a verdict (metrics.py gives none on a handful)
    x = torch.randn(12, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    explainers = {"saliency": make_explainer("saliency", model), "the-face": TheFace(model),
                  "flip": make_explainer("flip", model, window=8, stride=8)}
    return {name: sanity_check(e, x).summary() for name, e in explainers.items()}


def test_quantile_and_sanity_figures(sanity_checks):
    q = {"0.1": 0, "0.25": 0.1, "0.5": 0.2, "0.75": 0.4, "0.9": 0.5}
    fig = figures.quantile_bars({"anger": {"quantiles": q}, "fear": {"n": 0}})
    assert list(fig.data[0].x) == ["anger"]
    assert fig.data[0].error_y.array[0] == pytest.approx(0.2)
    s = figures.sanity_curves(sanity_checks, verdict=sanity_verdict)
    assert [t.name for t in s.data] == [f"{m} ({v})" for m, v in VERDICTS.items()]
    for trace, check in zip(s.data, sanity_checks.values()):
        assert len(trace.x) == len(check["layers"]) == 11
        assert [None if y is None else pytest.approx(y) for y in trace.y] == check["mean_spearman"]


# --- tables ------------------------------------------------------------------------------------

def test_per_class_from_confusion():
    conf = np.array([[3, 1], [0, 4]])
    pc = tables.per_class_from_confusion(conf, ["a", "b"])
    assert pc["a"]["precision"] == 1.0 and pc["a"]["recall"] == 0.75 and pc["b"]["support"] == 4
    assert pc["b"]["f1"] == pytest.approx(2 * 0.8 * 1.0 / 1.8)


def test_metric_views_test_split_first():
    card = {"metrics": {"val": {"none": {"confusion": []}},
                        "test": {"tencrop": {"confusion": []}, "none": {"confusion": []}},
                        "notes": "x"}}
    assert tables.metric_views(card) == [("test", "none"), ("test", "tencrop"), ("val", "none")]


def test_results_table_beside_paper():
    cv = {"dataset": {"name": "jaffe"}, "protocol": {"name": "loso"},
          "metrics": {"val": {"none": {"accuracy": 0.99}},
                      "test": {"none": {"accuracy": 0.9, "fold_accuracy_std": 0.05},
                               "tencrop": {"accuracy": 0.92}}}}
    plus = {"dataset": {"name": "ferplus"}, "metrics": {"test": {"none": {"accuracy": 0.8}}}}
    df = tables.results_table({"jaffe": cv, "ferplus": plus}).set_index("checkpoint")
    assert list(df.index) == ["jaffe", "ferplus"]  # one row each; validation left out
    assert df.loc["jaffe", "accuracy"] == 0.9 and df.loc["jaffe", "+ ten-crop TTA"] == 0.92
    assert np.isnan(df.loc["jaffe", "+ flip TTA"])
    assert df.loc["jaffe", "± std"] == 0.05 and df.loc["jaffe", "protocol"] == "loso"
    assert df.loc["jaffe", "Δ vs paper"] == pytest.approx(0.9 - tables.PAPER_RESULTS["jaffe"])
    assert np.isnan(df.loc["ferplus", "paper"])  # FER+ is not in the paper
    assert "± std" not in tables.results_table({"ferplus": plus})


def test_the_sanity_table_carries_each_methods_verdict_and_its_sentence():
    from tests.explain.test_verdicts import TRUST

    table = tables.sanity_table(TRUST).set_index("method")
    assert table.loc["flip", "verdict"] == "undefined"
    assert table.loc["flip", "faces with a defined map"] == "3 of 128"
    assert table.loc["occlusion", "similarity to the original, all layers random"] == "0.20 (0.15 to 0.25)"
    assert table.loc["occlusion", "both checks together"].startswith("Trustworthy here")
    assert table.loc["saliency", "both checks together"].startswith("Not to be trusted here")


def test_stn_panels_three_views():
    face = np.zeros((48, 48))
    fig = figures.stn_panels(face, np.zeros((36, 36)), np.array([[5, 5], [40, 5], [40, 40], [5, 40]]),
                             np.ones((48, 48)))
    assert [a.text for a in fig.layout.annotations][:3] == [
        "Where it samples", "What it passes on", "Sampling density"]
    assert len(fig.data[1].x) == 5  # closed outline


def test_method_grid_one_panel_per_method():
    maps = {"ig": np.random.default_rng(0).normal(size=(48, 48)), "gradcam": np.ones((48, 48))}
    fig = figures.method_grid(np.zeros((48, 48)), maps, {"ig": "IG"}, signed=("ig",))
    heat = [t for t in fig.data if t.opacity]
    assert len(heat) == 2
    assert heat[0].zmin == -heat[0].zmax  # signed map centred on zero
    assert [a.text for a in fig.layout.annotations] == ["IG", "gradcam"]


def test_split_sizes_table():
    one = tables.split_sizes_table({"train": 10, "val": 2, "test": 3}, ["official"])
    assert list(one.index) == ["official"] and one.loc["official", "test"] == 3
    folds = tables.split_sizes_table([{"train": 8, "test": 2}, {"train": 7, "test": 3}], ["f0", "f1"])
    assert list(folds.index) == ["f0", "f1"] and folds.loc["f1", "test"] == 3


def _panel_domains(fig):
    return [fig.layout[k].domain for k in sorted(k for k in fig.layout if k.startswith("xaxis"))]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_colour_bars_sit_under_their_own_panel_never_beside_the_next(n):
    face = np.zeros((48, 48))
    grid = figures.method_grid(face, {f"m{i}": np.random.default_rng(i).random((48, 48))
                                      for i in range(n)}, {})
    stn = figures.stn_panels(face, np.zeros((36, 36)), np.array([[5, 5], [40, 5], [40, 40]]),
                             np.ones((48, 48)))
    for fig in (grid, stn):
        domains = _panel_domains(fig)
        bars = [t for t in fig.data if t.type == "heatmap" and t.showscale is not False]
        assert bars
        for bar in bars:
            assert bar.colorbar.orientation == "h"
            lo, hi = bar.colorbar.x - bar.colorbar.len / 2, bar.colorbar.x + bar.colorbar.len / 2
            assert any(d[0] - 1e-9 <= lo and hi <= d[1] + 1e-9 for d in domains), (lo, hi, domains)


def test_long_titles_wrap_to_a_phone_width_and_leave_the_toolbar_room():
    fig = figures.deletion_curves({"a": [1.0, 0.5, 0.2]}, title="Occlusion map: delete / insert "
                                  "its top pixels and watch the probability")
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= 42 for line in lines)
    assert fig.layout.title.xanchor == "left" and fig.layout.margin.t >= 14 + 18 * len(lines)
    assert fig.layout.modebar.orientation == "v"
    assert figures.PLOTLY_CONFIG["displayModeBar"] is False


def test_trust_curves_keep_their_legend_under_the_plot_so_a_phone_shows_the_lines():
    curves = figures.deletion_curves({"Integrated gradients": [1, 0.5, 0.1], "Grad-CAM": [1, 0.9, 0.8]})
    sanity = figures.sanity_curves({"Grad-CAM": {"mean_spearman": [0.9, 0.4], "layers": ["a", "b"]}})
    for fig in (curves, sanity):
        assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
        assert fig.layout.legend.entrywidthmode == "fraction"  # one method per line
