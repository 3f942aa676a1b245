"""The Live camera page; its controls and layout are in ``dashboard/views/live.py``."""

from dashboard.views import live

live.render()
