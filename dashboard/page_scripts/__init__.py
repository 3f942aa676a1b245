"""The scripts ``st.navigation`` runs, one per page; each calls its ``dashboard.views`` module.

They live inside the package so an installed dashboard has them, and not in a folder named
``pages/`` beside ``app.py``, which Streamlit would also read as pages of its own.
"""
