"""The dashboard at ``/ui``: its pages and static files (``pages.py``, ``static/``) and its
login sessions (``session.py``); its figures come from serve/dashboard.py."""
