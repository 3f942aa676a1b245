"""Face regions by emotion: class-mean maps and region shares, STN vs occlusion and others."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import figures, people, resources, widgets, wording
from deep_emotion.explain.verdicts import stn_finding

__all__ = ["render"]


def render() -> None:
    st.title("Face regions by emotion")
    st.caption("Which parts of the face drive each emotion, averaged over a checkpoint's test "
               "faces: the network's own attention (STN) beside occlusion and any other method "
               "analysed.")
    ckpt_name, analyses, data_label = widgets.analyses_or_stop()
    st.markdown(_heading(ckpt_name, analyses, data_label))
    finding = stn_finding(analyses)
    if finding:
        st.info(finding)
    labels = wording.method_labels()
    available = list(analyses.get("class_mean_maps", {}))
    methods = st.multiselect("Methods", available, default=available[:2], key="region_methods",
                             format_func=lambda m: labels.get(m, m))
    if not methods:
        st.info("Pick at least one method above.")
        st.stop()
    _class_means(analyses, methods, labels)
    _region_shares(analyses, methods, labels)
    _agreement(analyses.get("agreement", {}))
    _people(analyses, ckpt_name, data_label)


def _heading(ckpt_name: str, analyses: dict, data_label: str | None) -> str:
    """Which faces the maps average: the person's own dataset when chosen, else the
    checkpoint's test faces under its protocol."""
    faces = analyses.get("faces", "?")
    if data_label is not None:
        return (f"**{data_label}** (network `{ckpt_name}`): {faces} faces of your data. Maps "
                "explain the true emotion.")
    card = resources.card(ckpt_name)
    dataset = (card.get("dataset") or {}).get("name", "?")
    return (f"**{wording.dataset_label(dataset)}** (network `{ckpt_name}`): {faces} test faces, "
            f"{wording.protocol_words(card.get('protocol'))}. Maps explain the true emotion. "
            "Pick another network in the sidebar.")


def _class_means(analyses: dict, methods: list[str], labels: dict) -> None:
    st.subheader("Class-mean maps")
    st.caption("The average map over the faces of each emotion; the colour scale is shared "
               "within a method.")
    for col, m in zip(st.columns(len(methods)), methods):
        maps = {e: np.asarray(v) for e, v in analyses["class_mean_maps"][m].items()}
        with col:
            st.plotly_chart(figures.class_mean_maps(maps, title=labels.get(m, m),
                                                    columns=2 if len(methods) > 1 else 4),
                            key=f"means_fig_{m}", config=figures.PLOTLY_CONFIG)


def _region_shares(analyses: dict, methods: list[str], labels: dict) -> None:
    regions = analyses.get("regions", {})
    names = regions.get("names", [])
    sens = analyses.get("region_sensitivity", {})
    st.subheader("Share of each map per face region")
    left, right = st.columns([1, 2])
    with left:
        if regions.get("labels"):
            st.plotly_chart(figures.region_layout(np.asarray(regions["labels"]), names),
                            key="layout_fig")
    with right:
        emotions = list(analyses.get("counts", {})) or list(sens.get(methods[0], {}))
        emotion = st.selectbox("Emotion", emotions, key="region_emotion")
        st.plotly_chart(figures.region_bars({labels.get(m, m): sens[m][emotion] for m in methods
                                             if emotion in sens.get(m, {})},
                                            title=f"{emotion}: where the map's mass lies"),
                        key="region_bars_fig", config=figures.PLOTLY_CONFIG)
        n = analyses.get("counts", {}).get(emotion)
        if n is not None:
            st.caption(f"{n} {emotion} faces. Shares sum to 1 over all regions, 'other' included.")
    for m in methods:
        if m in sens:
            st.plotly_chart(figures.region_matrix(sens[m], names,
                                                  title=f"{labels.get(m, m)}: every emotion"),
                            key=f"region_matrix_fig_{m}", config=figures.PLOTLY_CONFIG)


def _agreement(agreement: dict) -> None:
    if not agreement.get("per_emotion"):
        return
    st.subheader("Do STN and occlusion agree?")
    words = {"spearman": "rank correlation", "topk_iou": "overlap of the top 10% pixels"}
    measure = st.radio("Measure", list(agreement.get("measures", {"spearman": ""})),
                       horizontal=True, key="agreement_measure",
                       format_func=lambda k: words.get(k, k),
                       help="Rank correlation: 1 when both maps order the pixels alike, 0 when "
                            "unrelated. Overlap: the share of the ten per cent most important "
                            "pixels the two maps have in common.")
    st.plotly_chart(figures.quantile_bars(
        {e: v.get(measure, {}) for e, v in agreement["per_emotion"].items()},
        title="STN vs occlusion per emotion (median, quartiles)",
        measure=words.get(measure, measure)), key="agreement_fig", config=figures.PLOTLY_CONFIG)


def _people(analyses: dict, ckpt_name: str, data_label: str | None) -> None:
    """Where the network looks (attribution, attention), what it needs (knock-out), and where
    people look, per emotion and per human source; never one "ground truth"."""
    st.subheader("Does the network look where people look?")
    if not people.has_people(analyses):
        st.info("This analysis has no region knock-outs yet. Run `deep-emotion analyze "
                f"--checkpoint {ckpt_name} --stages knockout` to add them.")
        return
    refs = analyses.get("human_references", {})
    st.caption("For each emotion, the network's most important regions three ways: where its "
               "attribution map (occlusion) and its attention (STN) put the most weight per "
               "pixel, and which regions it needs, measured by a knock-out: the region hidden "
               "on every face and the drop of the true emotion's probability beyond the drop "
               "for a random region of the same area. Beside them, the "
               "regions people rely on, from each human reference separately (they disagree "
               "with each other, so none is the truth). Agreement is the rank correlation of "
               "the knock-out ranking with each source, its 95% bootstrap interval over the "
               "faces and a permutation test against chance.")
    for about in refs.values():
        st.caption(f"**{about.get('name')}**: {about.get('paradigm')}; "
                   f"{about.get('observers') or 'no'} observers. "
                   + (f"_{about['caution'].capitalize()}._" if about.get("caution") else ""))
    table = people.top_regions_table(analyses)
    st.dataframe(table, hide_index=True, key="people_table")
    for sentence, reading in people.readings(analyses):
        {"agreement": st.success, "disagreement": st.warning}.get(reading, st.info)(sentence)
    cases = people.failure_cases(analyses)
    if cases:
        st.markdown("**Where the network and people part ways**\n\n"
                    + "\n".join(f"- {c}" for c in cases))
    emotions = list(table["Emotion"])
    emotion = st.selectbox("Emotion to knock out", emotions, key="knockout_emotion")
    st.plotly_chart(people.knockout_figure(analyses, emotion), key="knockout_fig",
                    config=figures.PLOTLY_CONFIG)
    _knockout_notes(analyses, emotion)
    with st.expander("Every ranking compared with every source"):
        st.dataframe(people.rankings_table(analyses), hide_index=True, key="people_rankings")
    stem = f"{ckpt_name}_where_people_look" + ("_your_data" if data_label else "")
    left, right = st.columns(2)
    left.download_button("Table (CSV)", people.table_csv(table), f"{stem}.csv", "text/csv",
                         key="people_csv")
    right.download_button("Table (PNG)", lambda: people.table_png(
        table, f"{ckpt_name}: does the network look where people look?"), f"{stem}.png",
        "image/png", key="people_png")


def _knockout_notes(analyses: dict, emotion: str) -> None:
    """Which regions beat a random region of their size, and which depend on the fill."""
    ko = analyses["knockout"]
    settings = analyses.get("knockout_settings", {})
    beats = [r for r, cells in ko.items() if cells.get(emotion, {}).get("exceeds_random")]
    fill = [r for r, cells in ko.items() if cells.get(emotion, {}).get("baseline_sensitive")]
    st.caption(f"{settings.get('faces', '?')} faces, each region filled with "
               f"{settings.get('primary', 'black')}; the bars' 95% bootstrap interval is over "
               f"the {emotion} faces. Hiding "
               + (", ".join(beats) if beats else "no region")
               + " costs more than hiding a random region of the same area.")
    if fill:
        st.caption("Filled with another baseline (" + ", ".join(settings.get("baselines", [])[1:])
                   + "), the drop for " + ", ".join(fill) + " falls outside that interval: the "
                   "fill, not only the region, changes what the network sees.")
