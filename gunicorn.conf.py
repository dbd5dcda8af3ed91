"""Gunicorn settings for serving s2viz: they live in app/web/serving/gunicorn_conf.py
(shipped in the wheel too)."""
from app.web.serving.gunicorn_conf import *  # noqa: F403
