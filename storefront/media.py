"""Stored pictures: WebP derivatives under content-hash names, served with long cache lives.

Names come from the pixels, never from the uploader, so a file can be cached
forever and no name can collide with or overwrite another.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, current_app, send_from_directory
from PIL import Image

WIDTHS = (320, 640, 1280)
WEBP_QUALITY = 78

bp = Blueprint("media", __name__)


@dataclass(frozen=True)
class StoredPicture:
    key: str
    width: int
    height: int


def media_root() -> Path:
    return Path(current_app.config["MEDIA_ROOT"])


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a file: write aside, then rename into place."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def store_picture(image: Image.Image, root: Path | None = None) -> StoredPicture:
    """Re-encode ``image`` (already decoded and oriented) as WebP derivatives."""
    root = root or media_root()
    folder = root / "p"
    folder.mkdir(parents=True, exist_ok=True)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    key = hashlib.sha256(image.tobytes()).hexdigest()[:32]
    # Largest first, each derivative shrunk from the one before: cheaper than
    # resampling the full picture three times, and no visible difference.
    current = image
    for width in sorted(WIDTHS, reverse=True):
        current = current.copy()
        current.thumbnail((width, width), Image.Resampling.LANCZOS)
        path = folder / f"{key}-{width}.webp"
        if path.exists():
            continue
        buffer = io.BytesIO()
        # No exif/icc/xmp arguments: the derivative carries pixels only.
        current.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
        _write_atomically(path, buffer.getvalue())
    return StoredPicture(key=key, width=image.width, height=image.height)


def picture_url_path(key: str, width: int) -> str:
    return f"p/{key}-{width}.webp"


@bp.get("/media/<path:filename>")
def serve(filename: str):
    response = send_from_directory(media_root(), filename, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
