"""Serving: memoised bodies in one byte budget, HTTP edges (ETag, compression, cache headers),
security headers, the public origin, htmx's request headers, static assets, gunicorn's settings."""
