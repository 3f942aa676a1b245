"""The Streamlit explainability dashboard: shared resources, widgets and Plotly figure builders.

Imports run ``page_scripts/`` -> the rest of ``dashboard/`` -> ``deep_emotion/``, never back.  ``figures`` and
``exports`` are pure (no ``st.*``) so tests call them directly; ``resources`` holds every
cached loader; ``widgets`` draws controls and returns their values.
"""
