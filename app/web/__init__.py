"""The web app: the factory, one request path for every scenario address (request.py), the
worker's traces (traces.py), the views (views/) and how responses are served (serving/)."""
