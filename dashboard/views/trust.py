"""Trust: are the maps faithful to the model?  Deletion/insertion curves and sanity checks."""

from __future__ import annotations

import streamlit as st

from dashboard import figures, tables, widgets, wording
from deep_emotion.explain import verdicts

__all__ = ["render"]


def render() -> None:
    st.title("Trust")
    st.caption("A map is only useful if it reflects what the network actually uses. Two checks "
               "say how far to trust each method; the Glossary page explains the terms.")
    ckpt_name, analyses, data_label = widgets.analyses_or_stop()
    labels = wording.method_labels()
    _reading(ckpt_name, analyses, labels, data_label)
    _faithfulness(analyses.get("faithfulness", {}), labels)
    _sanity(analyses, labels)


def _reading(ckpt_name: str, analyses: dict, labels: dict, data_label: str | None) -> None:
    faith, sanity = analyses.get("faithfulness", {}), analyses.get("sanity", {})
    interval = sanity.get("interval") or faith.get("interval")
    st.subheader("What the numbers say")
    for sentence in verdicts.trust_reading(analyses, labels):
        st.markdown(f"- {sentence}")
    finding = verdicts.stn_finding(analyses)
    if finding:
        st.markdown(f"- {finding}")
    checked = analyses.get("sanity", {}).get("methods", {})
    if checked:
        st.markdown("**Each method, both checks together**")
        for m in checked:
            st.markdown(f"- **{labels.get(m, m)}**: {verdicts.method_sentence(analyses, m)}")
    if interval:
        st.caption(f"Intervals: {interval}. A verdict is given only when the whole interval lies "
                   "on one side; faces where a map is blank are left out.")
        wanted = analyses.get("config", {}).get("sanity_faces", 0)
        if sanity.get("faces", wanted) < wanted:
            where = data_label or f"the test split of **{ckpt_name}**"
            st.caption(f"{where[0].upper()}{where[1:]} holds only {sanity['faces']} faces; the "
                       f"checks use every one of them (not {wanted}), so their intervals are wider.")


def _faithfulness(faith: dict, labels: dict) -> None:
    st.subheader("Faithfulness: delete or insert the pixels a map ranks first")
    st.caption(f"On {faith.get('faces', '?')} test faces, the probability of the predicted class "
               f"as pixels are set to {faith.get('deletion_baseline', 'black')} (deletion: a small "
               f"area under the curve means the map found what matters) or revealed on a "
               f"{faith.get('insertion_start', 'blurred face')} (insertion: a large area is "
               "better). A random map is the floor to beat, compared face by face.")
    methods = faith.get("methods", {})
    if not methods:
        st.info("These analyses hold no faithfulness results.")
        return
    st.dataframe(tables.faithfulness_table(methods, labels).style.format(precision=3, na_rep="—"),
                 placeholder="—")
    kind = st.radio("Curves", ["deletion", "insertion"], horizontal=True, key="trust_curves")
    st.plotly_chart(figures.deletion_curves(
        {labels.get(m, m): v[f"{kind}_curve"] for m, v in methods.items() if f"{kind}_curve" in v},
        kind=kind), key="faith_fig", config=figures.PLOTLY_CONFIG)


def _sanity(analyses: dict, labels: dict) -> None:
    sanity = analyses.get("sanity", {})
    st.subheader("Sanity: does the map change when the network is scrambled?")
    st.caption(f"The model-randomisation test (Adebayo and colleagues, 2018): scramble the "
               f"network's layers one by one from the output down and compare each new map with "
               f"the original ({sanity.get('similarity', 'rank correlation')}, "
               f"{sanity.get('faces', '?')} faces). A method whose map survives a scrambled "
               "network explains the photo, not the model.")
    checks = sanity.get("methods", {})
    if not checks:
        st.info("These analyses hold no sanity-check results.")
        return
    st.dataframe(tables.sanity_table(analyses, labels).style.format(precision=3, na_rep="—"),
                 hide_index=True, placeholder="—")
    threshold = next(iter(checks.values())).get("threshold", 0.5)
    st.plotly_chart(figures.sanity_curves({labels.get(m, m): v for m, v in checks.items()},
                                          threshold, verdict=verdicts.sanity_verdict),
                    key="sanity_fig", config=figures.PLOTLY_CONFIG)
