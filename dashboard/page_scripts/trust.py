"""The Trust page; its controls and layout are in ``dashboard/views/trust.py``."""

from dashboard.views import trust

trust.render()
