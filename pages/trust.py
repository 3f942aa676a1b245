"""Trust: are the maps faithful to the model?  Deletion/insertion curves and sanity checks."""

import streamlit as st

from dashboard import figures, tables, userdata_view, widgets

st.title("Trust")
st.caption("A map is only useful if it reflects what the network actually uses. Two checks "
           "say how far to trust each method.")

ckpt_name, analyses = userdata_view.analyses_or_stop()

labels = {"stn": "STN attention", "random": "random map (reference)", **widgets.METHOD_LABELS}
faith = analyses.get("faithfulness", {})
sanity = analyses.get("sanity", {})

st.subheader("What the numbers say")
for sentence in tables.trust_reading(analyses, labels):
    st.markdown(f"- {sentence}")

st.subheader("Faithfulness: delete or insert the pixels a map ranks first")
st.caption(f"On {faith.get('faces', '?')} test faces, the probability of the predicted class as "
           f"pixels are set to {faith.get('deletion_baseline', 'black')} (deletion: a low area "
           f"means the map found what matters) or revealed on a {faith.get('insertion_start', 'blurred face')} "
           "(insertion: a high area is better). A random map is the floor to beat.")
methods = faith.get("methods", {})
if methods:
    st.dataframe(tables.faithfulness_table(methods, labels).style.format(precision=3, na_rep="—"),
                 placeholder="—")
    kind = st.radio("Curves", ["deletion", "insertion"], horizontal=True, key="trust_curves")
    st.plotly_chart(figures.deletion_curves(
        {labels.get(m, m): v[f"{kind}_curve"] for m, v in methods.items() if f"{kind}_curve" in v},
        kind=kind), key="faith_fig")
else:
    st.info("These analyses hold no faithfulness results.")

st.subheader("Sanity: does the map change when the network is destroyed?")
st.caption(f"Adebayo et al. (2018): re-initialise the layers one by one from the output down and "
           f"compare each new map with the original ({sanity.get('similarity', 'rank correlation')}, "
           f"{sanity.get('faces', '?')} faces). A method whose map survives a random network "
           "explains the image, not the model.")
checks = sanity.get("methods", {})
if checks:
    st.dataframe(tables.sanity_table(checks, labels).style.format(precision=3, na_rep="—"),
                 hide_index=True, placeholder="—")
    threshold = next(iter(checks.values())).get("threshold", 0.5)
    st.plotly_chart(figures.sanity_curves({labels.get(m, m): v for m, v in checks.items()}, threshold,
                                          verdict=tables.sanity_verdict),
                    key="sanity_fig")
else:
    st.info("These analyses hold no sanity-check results.")
