"""Trust: are the maps faithful to the model?  Deletion/insertion curves and sanity checks."""

import streamlit as st

from dashboard import figures, tables, userdata_view, widgets

st.title("Trust")
st.caption("A map is only useful if it reflects what the network actually uses. Two checks "
           "say how far to trust each method; the Glossary page explains the terms.")

ckpt_name, analyses = userdata_view.analyses_or_stop()

labels = {"stn": "STN attention", "random": "random map (reference)", **widgets.METHOD_LABELS}
faith = analyses.get("faithfulness", {})
sanity = analyses.get("sanity", {})
interval = sanity.get("interval") or faith.get("interval")

st.subheader("What the numbers say")
for sentence in tables.trust_reading(analyses, labels):
    st.markdown(f"- {sentence}")
finding = tables.stn_finding(analyses)
if finding:
    st.markdown(f"- {finding}")
if interval:
    st.caption(f"Intervals: {interval}. A verdict is given only when the whole interval lies on "
               "one side; faces where a map is blank are left out.")
    wanted = analyses.get("config", {}).get("sanity_faces", 0)
    if sanity.get("faces", wanted) < wanted:
        st.caption(f"The test split of **{ckpt_name}** holds only {sanity['faces']} faces; the "
                   f"checks use every one of them (not {wanted}), so their intervals are wider.")
else:
    st.warning(f"The checks for **{ckpt_name}** ran on {sanity.get('faces', 'a few')} faces "
               "before intervals were recorded, so no verdict is given. Refreshing its analysis "
               "adds them.")

st.subheader("Faithfulness: delete or insert the pixels a map ranks first")
st.caption(f"On {faith.get('faces', '?')} test faces, the probability of the predicted class as "
           f"pixels are set to {faith.get('deletion_baseline', 'black')} (deletion: a small area "
           f"under the curve means the map found what matters) or revealed on a "
           f"{faith.get('insertion_start', 'blurred face')} (insertion: a large area is better). "
           "A random map is the floor to beat, compared face by face.")
methods = faith.get("methods", {})
if methods:
    st.dataframe(tables.faithfulness_table(methods, labels).style.format(precision=3, na_rep="—"),
                 placeholder="—")
    kind = st.radio("Curves", ["deletion", "insertion"], horizontal=True, key="trust_curves")
    st.plotly_chart(figures.deletion_curves(
        {labels.get(m, m): v[f"{kind}_curve"] for m, v in methods.items() if f"{kind}_curve" in v},
        kind=kind), key="faith_fig", config=figures.PLOTLY_CONFIG)
else:
    st.info("These analyses hold no faithfulness results.")

st.subheader("Sanity: does the map change when the network is scrambled?")
st.caption(f"The model-randomisation test (Adebayo and colleagues, 2018): scramble the network's "
           f"layers one by one from the output down and compare each new map with the original "
           f"({sanity.get('similarity', 'rank correlation')}, {sanity.get('faces', '?')} faces). "
           "A method whose map survives a scrambled network explains the photo, not the model.")
checks = sanity.get("methods", {})
if checks:
    st.dataframe(tables.sanity_table(checks, labels).style.format(precision=3, na_rep="—"),
                 hide_index=True, placeholder="—")
    threshold = next(iter(checks.values())).get("threshold", 0.5)
    st.plotly_chart(figures.sanity_curves({labels.get(m, m): v for m, v in checks.items()}, threshold,
                                          verdict=tables.sanity_verdict),
                    key="sanity_fig", config=figures.PLOTLY_CONFIG)
else:
    st.info("These analyses hold no sanity-check results.")
