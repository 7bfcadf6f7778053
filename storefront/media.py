"""Stored pictures: WebP derivatives under content-hash names, served with long cache lives.

Names come from the pixels, never from the uploader, so a file can be cached
forever and no name can collide with or overwrite another.

An upload goes through two steps:

``load_picture(stream)``
    reads at most ``max_bytes`` + 1 bytes, decides the format from the content
    alone (JPEG, PNG or WebP; the name and the declared type are ignored),
    refuses anything too large, too many pixels (checked from the header,
    before any pixel is decoded), truncated or not a photo with a
    :class:`PictureRejected` carrying a message for the seller, then decodes,
    turns the picture upright (EXIF orientation), converts it to sRGB and
    hands back a fresh RGB/RGBA image with no metadata at all.

``store_picture(image)``
    writes the WebP derivatives ``p/<key>-<width>.webp`` (WIDTHS, long side),
    pixels only: no EXIF, no ICC profile, no XMP.

The original is not kept: only the derivatives are written, the largest being
1280 px on the long side. Why: an upload is hostile until it has been
re-encoded. Keeping its bytes would keep whatever rode along with the pixels
(GPS coordinates of a seller's home in the EXIF, an HTML/JavaScript polyglot,
a crafted ICC profile) on our disk, one misconfigured route away from being
served from our origin. An original also costs 3-10 MB per phone photo
against roughly 100-300 KB for all three derivatives, and no screen of the
marketplace shows more than 1280 px. The price of this choice: a larger size
or a better encoder later can only be made from the 1280 px derivative, or
the seller uploads again. Since the original is not kept, ``load_picture``
does not decode more than the derivatives need either (JPEG draft mode,
``reduce``), and ``StoredPicture.width``/``height`` are those of the largest
derivative actually stored.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import io
import logging
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import Blueprint, current_app, send_from_directory
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

WIDTHS = (320, 640, 1280)
WEBP_QUALITY = 78

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# Decided by content only; Image.open tries no other plugin (no EPS/Ghostscript,
# no PSD, no TIFF, no PDF...). MPO (two JPEGs, from some phones) opens as JPEG.
FORMATS = ("JPEG", "PNG", "WEBP")
_READ_CHUNK = 1024 * 1024
_SNIFF_BYTES = 2048  # enough for every signature below, and an SVG root after a prologue

log = logging.getLogger(__name__)

bp = Blueprint("media", __name__)


@dataclass(frozen=True)
class StoredPicture:
    key: str
    width: int
    height: int


class PictureRejected(Exception):
    """An upload that will not become a picture; ``message`` is for the seller.

    ``code`` is a short machine reason: ``not_image``, ``unsupported``,
    ``too_large``, ``too_many_pixels`` or ``truncated``. ``message`` is a lazy
    translation, evaluated in the request's locale when rendered.
    """

    def __init__(self, code: str, message=None):
        super().__init__(code)
        self.code = code
        self.message = message if message is not None else _message(code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _message(code: str, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS):
    if code == "too_large":
        return _l("Foto terlalu besar. Maksimal %(mb)d MB.", mb=max(1, max_bytes // (1024 * 1024)))
    if code == "too_many_pixels":
        return _l("Foto terlalu besar resolusinya (maksimal %(mp)d megapiksel).",
                  mp=max(1, max_pixels // 1_000_000))
    if code == "unsupported":
        return _l("Format tidak didukung. Unggah foto JPEG, PNG, atau WebP.")
    if code == "truncated":
        return _l("Foto rusak atau tidak lengkap. Coba unggah ulang.")
    return _l("Berkas ini bukan foto.")


def media_root() -> Path:
    return Path(current_app.config["MEDIA_ROOT"])


# --------------------------------------------------------------------------- loading

# What Pillow (and the C decoders under it) raise on hostile or broken bytes.
# UnidentifiedImageError and DecompressionBombError are handled before these.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, struct.error, EOFError, IndexError,
                  KeyError, TypeError, ZeroDivisionError, OverflowError, MemoryError)


def load_picture(stream: BinaryIO | bytes, *, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an uploaded photo safely into a fresh, upright, sRGB RGB/RGBA image.

    ``stream`` is anything with ``read(n)`` (a Werkzeug ``FileStorage``, an open
    file, ``BytesIO``) or the bytes themselves. Raises :class:`PictureRejected`
    for anything that is not a usable JPEG, PNG or WebP photo; hostile input
    never gets further than that.

    The result carries no metadata (no EXIF, ICC profile, XMP, nothing in
    ``info``). JPEGs are decoded at a reduced scale when that still leaves at
    least the largest derivative (1280 px on the long side), other formats are
    ``reduce``-d to at most about twice that, so the image is meant for
    :func:`store_picture`, not for keeping at full resolution.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone switched it on for the whole process: truncated uploads would
        # be padded with grey instead of refused. Fail loudly, not silently.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for uploads")
    buffer = _read_limited(stream, max_bytes)
    head = buffer.read(_SNIFF_BYTES)
    buffer.seek(0)
    if not head:
        raise PictureRejected("not_image")
    if (size := _webp_canvas_size(head)) and size[0] * size[1] > max_pixels:
        # Pillow creates libwebp's decoder, which allocates the whole canvas,
        # while opening: refuse from the header bytes before that.
        raise PictureRejected("too_many_pixels", _message("too_many_pixels", max_bytes, max_pixels))

    # Pillow warns (DecompressionBombWarning) past Image.MAX_IMAGE_PIXELS and
    # raises past twice that; our own limit is lower and checked right after
    # the header is read. The bomb warning becomes an error here; any other
    # warning (a phone's slightly malformed MPO header or maker note) is
    # recorded and logged rather than printed or, under pytest, raised. The
    # filters are restored on exit (catch_warnings is process-wide while it runs).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = _decode(buffer, head, max_bytes, max_pixels)
        except PictureRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PictureRejected("too_many_pixels",
                                  _message("too_many_pixels", max_bytes, max_pixels)) from None
    for warning in caught:
        log.info("picture upload: %s: %s", warning.category.__name__, warning.message)
    return picture


def _read_limited(stream, max_bytes: int) -> io.BytesIO:
    if isinstance(stream, (bytes, bytearray, memoryview)):
        data = bytes(stream)
        if len(data) > max_bytes:
            raise PictureRejected("too_large", _message("too_large", max_bytes))
        return io.BytesIO(data)
    buffer = io.BytesIO()
    limit = max_bytes + 1
    # Short reads are allowed (sockets, Werkzeug's LimitedStream): loop until
    # EOF or one byte past the limit, never more.
    while (have := buffer.tell()) < limit:
        chunk = stream.read(min(_READ_CHUNK, limit - have))
        if not chunk:
            break
        buffer.write(chunk)
    if buffer.tell() > max_bytes:
        raise PictureRejected("too_large", _message("too_large", max_bytes))
    buffer.seek(0)
    return buffer


def _decode(buffer: io.BytesIO, head: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    try:
        source = Image.open(buffer, formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise
    except UnidentifiedImageError:
        raise PictureRejected(_unidentified_reason(head)) from None
    except _DECODE_ERRORS:
        raise PictureRejected(_unidentified_reason(head)) from None

    with source:
        width, height = source.size
        if width <= 0 or height <= 0:
            raise PictureRejected("not_image")
        if width * height > max_pixels:
            raise PictureRejected("too_many_pixels", _message("too_many_pixels", max_bytes, max_pixels))
        try:
            if source.format in ("JPEG", "MPO"):
                _draft(source)
            source.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise
        except _DECODE_ERRORS:
            raise PictureRejected("truncated") from None
        orientation = _orientation(source)
        icc_profile = source.info.get("icc_profile") or None
        try:
            image = _plain_mode(source)
            image = _reduce(image)
            image = _upright(image, orientation)
            image = _to_srgb(image, icc_profile)
        except _DECODE_ERRORS:
            # Pixels decoded fine but could not be converted: a broken file all the same.
            raise PictureRejected("truncated") from None
    # A fresh image: no info dict, no EXIF, no ICC profile, no XMP, no file
    # object, no encoderinfo. Only the pixels are copied over.
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    return fresh


def _unidentified_reason(head: bytes) -> str:
    """Pillow (limited to JPEG/PNG/WebP) could not open it: say why, from the first bytes."""
    if (head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))
            or (head.startswith(b"RIFF") and head[8:12] == b"WEBP")):
        return "truncated"
    if _other_image_format(head):
        return "unsupported"
    return "not_image"


def _other_image_format(head: bytes) -> bool:
    """Image formats a seller might send that we refuse: worth a clearer message."""
    if head.startswith((
        b"GIF87a", b"GIF89a",
        b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+",      # TIFF, BigTIFF (and many RAWs)
        b"8BPS",                                             # Photoshop
        b"%!PS", b"\xc5\xd0\xd3\xc6",                        # PostScript / EPS, DOS EPS
        b"%PDF-",
        b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xffO\xffQ",    # JPEG 2000
        b"\x00\x00\x00\x0cJXL \r\n\x87\n", b"\xff\x0a",      # JPEG XL
        b"qoif", b"DDS ", b"icns", b"v/1\x01",                # QOI, DDS, Apple icon, OpenEXR
        b"FUJIFILMCCD-RAW",
    )):
        return True
    if head.startswith(b"BM") and len(head) >= 18 and \
            int.from_bytes(head[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124):
        return True                                          # BMP
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return True                                          # ICO, CUR
    if head[4:8] == b"ftyp" and head[8:12] in (
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
            b"avif", b"avis", b"crx "):
        return True                                          # HEIC/HEIF (iPhone), AVIF, Canon CR3
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    # SVG: XML (a script host, not a photo) whose root element is <svg>.
    return text.startswith((b"<svg", b"<?xml", b"<!doctype svg", b"<!--")) and b"<svg" in text


def _webp_canvas_size(head: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP header (VP8X, lossy VP8 or lossless VP8L), or None."""
    if not (head.startswith(b"RIFF") and head[8:12] == b"WEBP") or len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return (int.from_bytes(head[24:27], "little") + 1,
                int.from_bytes(head[27:30], "little") + 1)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return (int.from_bytes(head[26:28], "little") & 0x3FFF,
                int.from_bytes(head[28:30], "little") & 0x3FFF)
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _draft(source: ImageFile.ImageFile) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale while the long side stays >= 1280 px.

    The request is orientation-free (long side against long side), so turning
    the picture upright afterwards gives the same result as at full scale.
    """
    target = max(WIDTHS)
    width, height = source.size
    long_side = max(width, height)
    if long_side < 2 * target:
        return
    # Both sides shrunk by the same ratio: draft() picks the largest power of
    # two that keeps each of them at least this big.
    source.draft("RGB", (max(1, -(-width * target // long_side)),
                         max(1, -(-height * target // long_side))))


def _reduce(image: Image.Image) -> Image.Image:
    """Shrink by a whole factor (box filter) while the long side stays >= 2 x 1280 px.

    Same idea as ``thumbnail(reducing_gap=2.0)``: cheap averaging first, the
    final Lanczos step in store_picture still works from twice the target.
    """
    factor = max(image.size) // (2 * max(WIDTHS))
    return image.reduce(factor) if factor >= 2 else image


def _orientation(source: Image.Image) -> int:
    """EXIF (or XMP) orientation, 1 when absent or unreadable.

    Read here rather than through ImageOps.exif_transpose: that also rewrites
    the EXIF block we are about to throw away (``Exif.tobytes``), which can
    fail on a hostile block after the pixels were turned. A broken EXIF block
    is no reason to refuse a photo, so any failure means "upright".
    """
    try:
        value = int(source.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - hostile EXIF can raise anything; orientation is cosmetic
        return 1
    return value if 1 <= value <= 8 else 1


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # the same table as ImageOps.exif_transpose


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def _plain_mode(image: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA or CMYK: the modes colour management and reduce() handle."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode == "PA":
        return image.convert("RGBA")
    if mode.startswith("I"):
        # 16-bit greyscale PNG: convert("L") would clip everything above 255 to white.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode in ("1", "F"):
        return image.convert("L")
    if mode == "La":
        return image.convert("LA")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


@functools.cache
def _srgb_profile():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB. An embedded profile is applied, never kept."""
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    if icc_profile:
        base = image.convert(image.mode[:-1]) if alpha is not None else image
        try:
            converted = ImageCms.profileToProfile(
                base, ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)), _srgb_profile(),
                renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
        except (ImageCms.PyCMSError, ImportError, *_DECODE_ERRORS) as error:
            # No LittleCMS, or a profile that does not fit the pixels (a Lab or
            # CMYK profile on RGB data, a broken one): use the numbers as they
            # are, as a browser would. The profile is dropped either way.
            log.info("picture upload: ICC profile not applied: %s", error)
        else:
            if converted is not None:
                if alpha is not None:
                    converted.putalpha(alpha)
                return converted
    if alpha is not None:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    return image if image.mode == "RGB" else image.convert("RGB")


# --------------------------------------------------------------------------- storing

_METADATA_CHUNKS = {b"EXIF", b"ICCP", b"XMP "}


def _webp_chunks(data: bytes) -> list[bytes]:
    """The RIFF chunk names of a WebP file, in order."""
    if not (data.startswith(b"RIFF") and data[8:12] == b"WEBP"):
        raise ValueError("not a WebP file")
    names, offset = [], 12
    while offset + 8 <= len(data):
        name, size = data[offset:offset + 4], int.from_bytes(data[offset + 4:offset + 8], "little")
        names.append(name)
        offset += 8 + size + (size & 1)
    return names


def _encode_webp(image: Image.Image) -> bytes:
    # ``image`` is a copy made by store_picture: no ``encoderinfo`` attribute
    # (which Image.save would merge over the arguments) and an empty info.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    data = buffer.getvalue()
    if leaked := _METADATA_CHUNKS.intersection(_webp_chunks(data)):
        raise RuntimeError(f"WebP derivative would carry metadata: {sorted(leaked)}")
    return data


class StorageUnavailable(Exception):
    """The media folder cannot take a picture now (disk full, not writable).

    Nothing of the picture is left behind: no temporary file, no derivative
    written by the failed call. ``code`` is ``disk_full`` or ``unwritable``;
    ``message`` (lazy, for the seller) says so; the view answers 503.
    """

    def __init__(self, code: str, error: OSError | None = None):
        super().__init__(f"{code}: {error}" if error else code)
        self.code = code
        if code == "disk_full":
            self.message = _l("Penyimpanan foto sedang penuh, jadi foto belum tersimpan. "
                              "Coba lagi nanti; kami sudah diberi tahu.")
        else:
            self.message = _l("Foto belum bisa disimpan karena ada gangguan di penyimpanan kami. "
                              "Coba lagi nanti.")


# Disk full or over quota; anything else from the file system means "cannot write here".
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a file, and a crash never leaves one under a real name:
    write to a private temporary file in the same folder, flush it to disk, rename it
    into place. The temporary file is removed on any failure."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the web server may read as another user
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _on_disk(operation, *args, **kwargs):
    """Run a file-system write; the media folder failing becomes StorageUnavailable."""
    try:
        return operation(*args, **kwargs)
    except OSError as error:
        code = "disk_full" if error.errno in _FULL_ERRNOS else "unwritable"
        raise StorageUnavailable(code, error) from error


def store_picture(image: Image.Image, root: Path | None = None) -> StoredPicture:
    """Re-encode ``image`` (already decoded and oriented) as WebP derivatives.

    Pixels only: whatever ``image.info`` or ``image.encoderinfo`` carries
    (EXIF, ICC profile, XMP) is not written. ``width``/``height`` are those of
    the largest derivative, the biggest version of the picture that exists.

    All or nothing: if the media folder refuses a write, the derivatives this
    call wrote are removed again and :class:`StorageUnavailable` is raised.
    Derivatives that were already there (the same picture uploaded before) stay.
    """
    root = root or media_root()
    folder = root / "p"
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    key = hashlib.sha256(image.tobytes()).hexdigest()[:32]
    written: list[Path] = []
    try:
        _on_disk(folder.mkdir, parents=True, exist_ok=True)
        # Largest first, each derivative shrunk from the one before: cheaper than
        # resampling the full picture three times, and no visible difference.
        current, largest = image, None
        for width in sorted(WIDTHS, reverse=True):
            current = current.copy()
            current.thumbnail((width, width), Image.Resampling.LANCZOS, reducing_gap=2.0)
            largest = largest or current.size
            path = folder / f"{key}-{width}.webp"
            if path.exists():
                continue
            _on_disk(write_atomically, path, _encode_webp(current))
            written.append(path)
    except BaseException as error:
        # Half a picture is no picture: take back what this call wrote.
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(error, StorageUnavailable):
            log.error("media folder %s refused picture %s: %s", folder, key, error)
        raise
    return StoredPicture(key=key, width=largest[0], height=largest[1])


@bp.get("/media/<path:filename>")
def serve(filename: str):
    response = send_from_directory(media_root(), filename, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
