"""Gunicorn settings for serving s2viz: they live in app/gunicorn_conf.py (shipped in the wheel too)."""
from app.gunicorn_conf import *  # noqa: F403
