"""Trust: are the maps faithful to the model?  Deletion/insertion curves and sanity checks."""

import streamlit as st

from dashboard import figures, resources, widgets

st.title("Trust")
st.caption("A map is only useful if it reflects what the network actually uses. Two checks "
           "say how far to trust each method.")

ckpt_name = widgets.current_checkpoint()
if ckpt_name is None:
    widgets.no_checkpoint()
    st.stop()
analyses, problem = resources.analysis(ckpt_name)
if analyses is None:
    st.info(problem)
    st.stop()
