"""The Emotions over a video page; its controls and layout are in ``dashboard/views/video.py``."""

from dashboard.views import video

video.render()
