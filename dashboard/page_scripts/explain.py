"""The Explain a face page; its controls and layout are in ``dashboard/views/explain.py``."""

from dashboard.views import explain

explain.render()
