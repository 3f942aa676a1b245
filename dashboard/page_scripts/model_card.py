"""The Model card page; its controls and layout are in ``dashboard/views/model_card.py``."""

from dashboard.views import model_card

model_card.render()
