"""One module per dashboard page: its controls and its layout, drawn by ``render()``.

``dashboard/page_scripts/NAME.py`` (the scripts ``st.navigation`` runs, see ``dashboard/app.py``) each call
exactly one ``dashboard.views.NAME.render``.  A page module reads its widgets, asks
``dashboard.resources`` for cached results of the core and draws them with
``dashboard.figures``; words come from ``dashboard.wording``.  Controls used by more than one
page live in ``dashboard.widgets``.
"""
