from urllib.parse import urlsplit

from flask import url_for


def safe_next(target: str | None, default_endpoint: str = "catalogue.home") -> str:
    """Only a path on this site: a crafted ?next= or form field sends nobody elsewhere."""
    if not target:
        return url_for(default_endpoint)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for(default_endpoint)
    return target
