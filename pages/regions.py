"""Face regions by emotion: class-mean maps and region shares, STN vs occlusion and others."""

import streamlit as st

from dashboard import figures, resources, widgets

st.title("Face regions by emotion")
st.caption("Which parts of the face drive each emotion, averaged over many test faces: the "
           "network's own attention (STN) beside occlusion and the other attribution methods.")

ckpt_name = widgets.current_checkpoint()
if ckpt_name is None:
    widgets.no_checkpoint()
    st.stop()
analyses, problem = resources.analysis(ckpt_name)
if analyses is None:
    st.info(problem)
    st.stop()
