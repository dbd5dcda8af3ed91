"""The public origin: the only source of absolute links (mail text, embeds).

S2VIZ_PUBLIC_URL (e.g. https://s2viz.example.org) is the base of every absolute link. Without it a
link is the path alone, unless S2VIZ_TRUSTED_HOSTS lists the hosts the operator serves: then Flask
refuses any other Host (400), and the request's own host may be named. Nothing else a client sends
(Host, X-Forwarded-*) ever reaches a link.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request


class OriginError(ValueError):
    """A configured origin that cannot be used; str() is one sentence for the operator."""


def check_public_url(value: str | None) -> str | None:
    """The configured public URL without a trailing slash, or None; raises OriginError if malformed."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise OriginError(f"S2VIZ_PUBLIC_URL must look like https://host[:port][/prefix], not {value[:80]!r}.")
    return value.rstrip("/")


def trusted_hosts(value) -> list[str] | None:
    """S2VIZ_TRUSTED_HOSTS as a list: a JSON list, or a comma-separated string."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    hosts = [str(h).strip() for h in items if str(h).strip()]
    return hosts or None


def base() -> str:
    """The origin absolute links start with ('' when only a path can be given)."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public
    if current_app.config.get("TRUSTED_HOSTS"):
        return f"{request.scheme}://{request.host}"     # Flask has checked the host against the list
    return ""


def absolute(path: str) -> str:
    return base() + path
