"""The Face regions by emotion page; its controls and layout are in ``dashboard/views/regions.py``."""

from dashboard.views import regions

regions.render()
