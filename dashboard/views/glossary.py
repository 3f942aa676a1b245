"""Glossary: the words the other pages use, each in one or two plain sentences."""

from __future__ import annotations

import streamlit as st

from dashboard import wording

__all__ = ["render"]


def render() -> None:
    st.title("Glossary")
    st.caption("The words the other pages use. This page is in the sidebar of every page.")
    for term, meaning in wording.GLOSSARY.items():
        st.markdown(f"**{term}**: {meaning}")
