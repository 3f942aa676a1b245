"""The Glossary page; its controls and layout are in ``dashboard/views/glossary.py``."""

from dashboard.views import glossary

glossary.render()
