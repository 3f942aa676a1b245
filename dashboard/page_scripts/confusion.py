"""The Confusion matrices page; its controls and layout are in ``dashboard/views/confusion.py``."""

from dashboard.views import confusion

confusion.render()
