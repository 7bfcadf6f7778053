"""The upload pipeline for photos: storefront.media.load_picture and store_picture.

Every file here is made by the test itself, with Pillow or by hand, in memory
or under tmp_path. No app and no database: load_picture needs neither, and the
lazy messages are checked once inside a bare Flask app with Flask-Babel.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel
from PIL import Image, ImageCms, ImageDraw, ImageFile, ImageOps

from storefront.media import (
    MAX_BYTES,
    WIDTHS,
    PictureRejected,
    _webp_chunks,
    load_picture,
    store_picture,
)

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


# --------------------------------------------------------------------------- makers

def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo_like(size=(4000, 3000), seed=7) -> Image.Image:
    """Gradients, soft blobs, texture at two scales and sensor noise: compresses like a photo."""
    width, height = size
    gradient = Image.linear_gradient("L")
    base = Image.merge("RGB", [
        gradient.resize(size),
        gradient.rotate(90).resize(size),
        Image.radial_gradient("L").resize(size),
    ])
    draw = ImageDraw.Draw(base)
    rng = random.Random(seed)
    for _ in range(40):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(width // 40, width // 6)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    texture = Image.effect_noise((width // 16, height // 16), 60).resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 24)
    noise = Image.merge("RGB", [texture, grain, texture])
    return Image.blend(base, noise, 0.25)


def two_tone(size=(400, 200)) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def exif_with(orientation: int | None = None, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Kamera Rahasia"        # Make
    exif[0x0110] = "Model-Penjual-42"      # Model
    if orientation:
        exif[0x0112] = orientation
    if gps:
        ifd = exif.get_ifd(0x8825)         # GPSInfo: a seller's home in Cipondoh
        ifd[1] = "S"
        ifd[2] = (6.0, 11.0, 20.5)
        ifd[3] = "E"
        ifd[4] = (106.0, 39.0, 41.25)
    return exif


def png_header_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height 1-bit pixels, with a few bytes of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is patched to claim another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), "gray"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_claiming(width: int, height: int) -> bytes:
    """A WebP extended header (VP8X) claiming a width x height canvas."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" \
        + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + b"VP8 " + struct.pack("<I", 10) + b"\x00" * 10
    return b"RIFF" + struct.pack("<I", len(body)) + body


def adobe_like_icc() -> bytes:
    """An ICC v2 matrix/TRC RGB profile with Adobe RGB (1998) primaries and gamma 2.2."""
    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    def text_description(text: str) -> bytes:
        ascii_ = text.encode("ascii") + b"\0"
        return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_
                + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)

    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0\0"   # gamma 563/256 = 2.199
    tags = [
        (b"desc", text_description("Adobe-like RGB (test)")),
        (b"cprt", b"text" + b"\0" * 4 + b"Public domain test profile\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.60974, 0.31111, 0.01947)),
        (b"gXYZ", xyz(0.20528, 0.62567, 0.06087)),
        (b"bXYZ", xyz(0.14919, 0.06322, 0.74457)),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB " + b"XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp"
              + b"\0" * 4 + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def rejected(data, **limits) -> PictureRejected:
    with pytest.raises(PictureRejected) as caught:
        load_picture(io.BytesIO(data) if isinstance(data, bytes) else data, **limits)
    return caught.value


def stored_files(root: Path) -> list[Path]:
    return sorted((root / "p").glob("*.webp"))


@pytest.fixture(scope="module")
def big_photo_jpeg() -> bytes:
    return encode(photo_like(), "JPEG", quality=90, exif=exif_with(gps=True))


@pytest.fixture
def babel_app():
    app = Flask(__name__)
    Babel(app, default_locale="id")
    return app


# --------------------------------------------------------------------------- messages

@pytest.mark.parametrize("code, text", [
    ("not_image", "Berkas ini bukan foto."),
    ("unsupported", "Format tidak didukung. Unggah foto JPEG, PNG, atau WebP."),
    ("too_large", "Foto terlalu besar. Maksimal 10 MB."),
    ("too_many_pixels", "Foto terlalu besar resolusinya (maksimal 40 megapiksel)."),
    ("truncated", "Foto rusak atau tidak lengkap. Coba unggah ulang."),
])
def test_each_refusal_tells_the_seller_why_in_indonesian(babel_app, code, text):
    error = PictureRejected(code)
    assert error.code == code
    with babel_app.test_request_context():
        assert str(error.message) == text
    assert str(error) == f"{code}: {text}"


def test_the_limits_in_the_messages_follow_the_limits_used():
    assert "5 MB" in str(rejected(b"x" * (5 * MB + 1), max_bytes=5 * MB).message)
    assert "12 megapiksel" in str(rejected(png_header_bomb(4000, 4000), max_pixels=12_000_000).message)


# --------------------------------------------------------------------------- size limits

@pytest.mark.parametrize("bomb", [
    pytest.param(lambda: png_header_bomb(50_000, 50_000), id="png-50000x50000"),
    pytest.param(lambda: png_header_bomb(10_000, 10_000), id="png-100MP-pillow-warns"),
    pytest.param(lambda: png_header_bomb(8_000, 6_000), id="png-48MP-our-limit"),
    pytest.param(lambda: jpeg_claiming(50_000, 50_000), id="jpeg-50000x50000"),
    pytest.param(lambda: jpeg_claiming(8_000, 6_000), id="jpeg-48MP"),
    pytest.param(lambda: webp_claiming(16_000, 16_000), id="webp-16000x16000"),
    pytest.param(lambda: webp_claiming(8_000, 6_000), id="webp-48MP"),
])
def test_a_decompression_bomb_is_refused_from_its_header(bomb):
    data = bomb()
    assert len(data) < 5_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = rejected(data)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.code == "too_many_pixels"
    assert elapsed < 2
    assert peak < 50 * MB


def test_a_decompression_bomb_does_not_grow_the_process(tmp_path):
    # tracemalloc does not see Pillow's pixel buffers (plain malloc in C), so
    # also measure the resident set of a fresh process around the refusals:
    # its high-water mark (VmHWM), reset just before. Not ru_maxrss: Linux
    # carries the parent's (pytest's) peak over into the child's.
    script = """
import io, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from test_pictures import png_header_bomb, jpeg_claiming, webp_claiming
from storefront.media import PictureRejected, load_picture

def status_kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

bombs = [png_header_bomb(50_000, 50_000), png_header_bomb(8_000, 6_000),
         jpeg_claiming(50_000, 50_000), jpeg_claiming(8_000, 6_000), webp_claiming(8_000, 6_000)]
load_picture(io.BytesIO(jpeg_claiming(16, 16)))  # warm up: plugins and decoders loaded
with open("/proc/self/clear_refs", "w") as control:
    control.write("5")
before = status_kb("VmRSS")
codes = []
for bomb in bombs:
    try:
        load_picture(io.BytesIO(bomb))
    except PictureRejected as error:
        codes.append(error.code)
print(json.dumps({"codes": codes, "growth_kb": status_kb("VmHWM") - before}))
"""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc/self/clear_refs to reset the RSS high-water mark")
    result = subprocess.run([sys.executable, "-c", script, str(ROOT), str(Path(__file__).parent)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["codes"] == ["too_many_pixels"] * 5
    assert report["growth_kb"] < 16 * 1024  # a 48 MP greyscale decode alone would be ~46 MB


class EndlessStream:
    """An upload that never ends; counts what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        size = 64 * 1024 if size is None or size < 0 else min(size, 64 * 1024)  # short reads
        self.read_bytes += size
        return b"\xff" * size


def test_an_oversized_upload_is_refused_without_reading_it_all():
    stream = EndlessStream()
    error = rejected(stream)
    assert error.code == "too_large"
    assert str(error.message) == "Foto terlalu besar. Maksimal 10 MB."
    assert stream.read_bytes <= MAX_BYTES + 1


def test_a_photo_just_under_the_byte_limit_is_read_whole():
    data = encode(two_tone(), "PNG")
    assert load_picture(io.BytesIO(data), max_bytes=len(data)).size == (400, 200)
    assert rejected(data, max_bytes=len(data) - 1).code == "too_large"
    assert rejected(bytearray(data), max_bytes=len(data) - 1).code == "too_large"


# --------------------------------------------------------------------------- formats

def _gif():
    return encode(two_tone((20, 10)), "GIF")


@pytest.mark.parametrize("make", [
    pytest.param(lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
                         b"(x) run\nshowpage\n%%EOF\n", id="eps"),
    pytest.param(lambda: b"\xc5\xd0\xd3\xc6" + b"\0" * 40, id="eps-dos-binary"),
    pytest.param(lambda: b"8BPS" + struct.pack(">H6sHIIHH", 1, b"\0" * 6, 3, 10, 10, 8, 3)
                 + b"\0" * 64, id="psd"),
    pytest.param(lambda: encode(two_tone((20, 10)), "TIFF"), id="tiff"),
    pytest.param(lambda: b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                         b'width="10" height="10"><script>alert(1)</script></svg>', id="svg-xml"),
    pytest.param(lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', id="svg"),
    pytest.param(lambda: encode(two_tone((20, 10)), "PDF"), id="pdf"),
    pytest.param(_gif, id="gif"),
    pytest.param(lambda: encode(two_tone((20, 10)), "BMP"), id="bmp"),
    pytest.param(lambda: encode(two_tone((16, 16)), "ICO"), id="ico"),
    pytest.param(lambda: encode(two_tone((16, 16)), "JPEG2000"), id="jpeg2000"),
    pytest.param(lambda: struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic" + b"\0" * 32,
                 id="heic"),
])
def test_other_image_formats_are_refused_as_unsupported(make):
    assert rejected(make()).code == "unsupported"


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="empty"),
    pytest.param("Harga kopi bubuk Rp15.000 per bungkus\n".encode(), id="text"),
    pytest.param(b"<!doctype html><html><script>alert(1)</script></html>", id="html"),
    pytest.param(b"PK\x03\x04" + b"\0" * 100, id="zip"),
    pytest.param(random.Random(3).randbytes(5000), id="random-bytes"),
])
def test_what_is_not_an_image_is_refused_as_such(data):
    error = rejected(data)
    assert error.code == "not_image"
    assert str(error.message) == "Berkas ini bukan foto."


def test_a_png_named_jpg_is_taken_for_what_it_is(tmp_path):
    path = tmp_path / "foto-produk.jpg"
    image = two_tone()
    image.putalpha(200)
    path.write_bytes(encode(image, "PNG"))
    with path.open("rb") as upload:
        picture = load_picture(upload)
    assert (picture.size, picture.mode) == ((400, 200), "RGBA")
    assert picture.getpixel((10, 10)) == (255, 0, 0, 200)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_cut_off_uploads_are_refused_as_truncated(fmt):
    data = encode(photo_like((600, 400)), fmt, **({"quality": 90} if fmt != "PNG" else {}))
    assert rejected(data[: len(data) // 2]).code == "truncated"
    assert rejected(data[:40]).code == "truncated"


def test_the_truncation_guard_is_not_switched_off_process_wide(monkeypatch):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        load_picture(io.BytesIO(encode(two_tone(), "PNG")))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_hostile_mutations_are_refused_or_decoded_never_crash(fmt):
    image = photo_like((120, 90))
    params = {"exif": exif_with(orientation=6, gps=True), "icc_profile": adobe_like_icc()}
    data = encode(image, fmt, **params)
    rng = random.Random(fmt)
    for _ in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randrange(1, 12)):
            position = rng.randrange(len(mutated))
            mutated[position] = rng.randrange(256)
        if rng.random() < 0.3:
            mutated = mutated[: rng.randrange(len(mutated))]
        try:
            picture = load_picture(io.BytesIO(bytes(mutated)))
        except PictureRejected as error:
            assert error.code in {"not_image", "unsupported", "too_many_pixels", "truncated"}
        else:
            assert picture.mode in ("RGB", "RGBA") and picture.info == {}


# --------------------------------------------------------------------------- metadata

def assert_no_metadata(picture: Image.Image):
    assert picture.info == {}
    assert len(picture.getexif()) == 0
    for key in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp"):
        assert key not in picture.info


def assert_derivatives_carry_pixels_only(root: Path, *needles: bytes):
    files = stored_files(root)
    assert len(files) == len(WIDTHS)
    for path in files:
        data = path.read_bytes()
        assert not {b"EXIF", b"ICCP", b"XMP "} & set(_webp_chunks(data))
        for needle in (b"Exif\0\0", *needles):
            assert needle not in data
        with Image.open(path) as derivative:
            assert derivative.format == "WEBP"
            assert not {"exif", "icc_profile", "xmp"} & set(derivative.info)
            assert len(derivative.getexif()) == 0


def test_gps_and_camera_exif_do_not_survive(tmp_path):
    data = encode(photo_like((800, 600)), "JPEG", quality=90, exif=exif_with(gps=True),
                  xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Cipondoh</x:xmpmeta>')
    with Image.open(io.BytesIO(data)) as original:  # the upload really does carry them
        assert original.getexif().get_ifd(0x8825)[2] == (6.0, 11.0, 20.5)
        assert "xmp" in original.info
    picture = load_picture(io.BytesIO(data))
    assert_no_metadata(picture)
    store_picture(picture, tmp_path)
    assert_derivatives_carry_pixels_only(tmp_path, b"Kamera Rahasia", b"Model-Penjual-42", b"Cipondoh")
    if exiftool := shutil.which("exiftool"):
        for path in stored_files(tmp_path):
            tags = json.loads(subprocess.run([exiftool, "-j", "-G", "-a", str(path)],
                                             capture_output=True, text=True, check=True).stdout)[0]
            assert not [tag for tag in tags if tag.startswith(("EXIF:", "XMP:", "ICC_Profile:",
                                                               "Composite:GPS"))]


def test_store_picture_drops_whatever_the_image_carries(tmp_path):
    image = photo_like((700, 500))
    image.info.update(exif=exif_with(gps=True).tobytes(), icc_profile=adobe_like_icc(), xmp=b"<x>rahasia</x>")
    image.encoderinfo = {"exif": exif_with(gps=True).tobytes(), "icc_profile": adobe_like_icc(),
                         "xmp": b"<x>rahasia</x>"}
    store_picture(image, tmp_path)
    assert_derivatives_carry_pixels_only(tmp_path, b"rahasia", b"Kamera Rahasia")


def test_an_html_jpeg_polyglot_comes_out_as_pixels_only(tmp_path):
    payload = b"<script>alert(1)</script><html>"
    jpeg = encode(photo_like((640, 480)), "JPEG", quality=85)
    comment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
    polyglot = jpeg[:2] + comment + jpeg[2:] + payload
    with Image.open(io.BytesIO(polyglot)) as check:  # still a JPEG to Pillow
        check.load()
        assert check.info.get("comment") == payload
    picture = load_picture(io.BytesIO(polyglot))
    assert_no_metadata(picture)
    store_picture(picture, tmp_path)
    for path in stored_files(tmp_path):
        data = path.read_bytes().lower()
        assert b"<script" not in data and b"<html" not in data and b"alert(" not in data


# --------------------------------------------------------------------------- orientation

def test_exif_orientation_6_is_applied():
    data = encode(two_tone((400, 200)), "JPEG", quality=95, exif=exif_with(orientation=6))
    picture = load_picture(io.BytesIO(data))
    assert picture.size == (200, 400)
    # Orientation 6: turn 90 degrees clockwise to view, so the left half is now on top.
    red, blue = picture.getpixel((100, 50)), picture.getpixel((100, 350))
    assert red[0] > 200 and red[2] < 60
    assert blue[2] > 200 and blue[0] < 60
    assert_no_metadata(picture)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillows_exif_transpose(orientation):
    source = photo_like((60, 40))
    data = encode(source, "PNG", exif=exif_with(orientation=orientation))
    with Image.open(io.BytesIO(data)) as reference:
        expected = ImageOps.exif_transpose(reference)
    picture = load_picture(io.BytesIO(data))
    assert picture.tobytes() == expected.convert("RGB").tobytes()


def test_a_big_rotated_jpeg_is_drafted_then_turned_upright():
    data = encode(two_tone((4000, 3000)), "JPEG", quality=90, exif=exif_with(orientation=6))
    picture = load_picture(io.BytesIO(data))
    assert picture.size == (1500, 2000)  # decoded at half scale, then turned
    assert picture.getpixel((750, 200))[0] > 200 and picture.getpixel((750, 1800))[2] > 200


def test_a_broken_exif_block_still_gives_the_photo():
    exif = bytearray(exif_with(orientation=6).tobytes())
    exif[10:14] = b"\xff\xff\xff\x7f"  # a wild offset to the first directory
    picture = load_picture(io.BytesIO(encode(two_tone(), "JPEG", exif=bytes(exif))))
    assert picture.size == (400, 200)
    assert_no_metadata(picture)


# --------------------------------------------------------------------------- colour

def flat_jpeg(colour, icc_profile: bytes | None) -> bytes:
    params = {"icc_profile": icc_profile} if icc_profile else {}
    return encode(Image.new("RGB", (64, 64), colour), "JPEG", quality=98, subsampling=0, **params)


def test_an_adobe_rgb_photo_is_converted_to_srgb_and_the_profile_dropped(tmp_path):
    profile = adobe_like_icc()
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    assert "Adobe-like" in ImageCms.getProfileDescription(adobe)
    colour = (200, 100, 50)
    expected = ImageCms.profileToProfile(Image.new("RGB", (1, 1), colour), adobe,
                                         ImageCms.createProfile("sRGB")).getpixel((0, 0))
    assert max(abs(a - b) for a, b in zip(expected, colour)) >= 10  # the profile matters
    picture = load_picture(io.BytesIO(flat_jpeg(colour, profile)))
    assert_no_metadata(picture)
    assert max(abs(a - b) for a, b in zip(picture.getpixel((32, 32)), expected)) <= 3
    store_picture(picture, tmp_path)
    assert_derivatives_carry_pixels_only(tmp_path, b"Adobe-like")


@pytest.mark.parametrize("profile", [
    pytest.param(lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), id="srgb"),
    pytest.param(lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(), id="lab"),
    pytest.param(lambda: b"not an icc profile at all" * 10, id="garbage"),
])
def test_other_embedded_profiles_are_never_kept(profile):
    colour = (30, 140, 90)
    picture = load_picture(io.BytesIO(flat_jpeg(colour, profile())))
    assert_no_metadata(picture)
    assert max(abs(a - b) for a, b in zip(picture.getpixel((32, 32)), colour)) <= 4


@pytest.mark.parametrize("make, mode", [
    pytest.param(lambda: encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"), "RGB", id="cmyk-jpeg"),
    pytest.param(lambda: encode(Image.new("L", (40, 30), 128), "JPEG"), "RGB", id="grey-jpeg"),
    pytest.param(lambda: encode(two_tone((40, 30)).convert("P"), "PNG", transparency=0), "RGBA", id="palette-png"),
    pytest.param(lambda: encode(Image.new("LA", (40, 30), (90, 128)), "PNG"), "RGBA", id="grey-alpha-png"),
    pytest.param(lambda: encode(Image.new("1", (40, 30), 1), "PNG"), "RGB", id="bilevel-png"),
    pytest.param(lambda: encode(Image.new("RGBA", (40, 30), (9, 8, 7, 100)), "WEBP", lossless=True),
                 "RGBA", id="webp-alpha"),
])
def test_every_mode_comes_out_rgb_or_rgba(make, mode):
    picture = load_picture(io.BytesIO(make()))
    assert picture.mode == mode
    assert_no_metadata(picture)


def test_a_16_bit_grey_png_is_scaled_not_clipped():
    image = Image.new("I;16", (40, 30), 32768)
    picture = load_picture(io.BytesIO(encode(image, "PNG")))
    assert picture.getpixel((5, 5)) == (128, 128, 128)


# --------------------------------------------------------------------------- derivatives

def test_the_three_derivatives_are_small_webps(tmp_path, big_photo_jpeg):
    picture = load_picture(io.BytesIO(big_photo_jpeg))
    stored = store_picture(picture, tmp_path)
    assert (stored.width, stored.height) == (1280, 960)
    for width in WIDTHS:
        path = tmp_path / "p" / f"{stored.key}-{width}.webp"
        data = path.read_bytes()
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        with Image.open(path) as derivative:
            assert max(derivative.size) == width
            assert derivative.size == (width, width * 3 // 4)
    assert (tmp_path / "p" / f"{stored.key}-320.webp").stat().st_size < 40 * 1024
    assert not list((tmp_path / "p").glob("*.tmp"))


def test_the_same_upload_gets_the_same_key(tmp_path, big_photo_jpeg):
    first = store_picture(load_picture(io.BytesIO(big_photo_jpeg)), tmp_path / "a")
    second = store_picture(load_picture(io.BytesIO(big_photo_jpeg)), tmp_path / "b")
    assert first == second
    assert [p.read_bytes() for p in stored_files(tmp_path / "a")] == \
        [p.read_bytes() for p in stored_files(tmp_path / "b")]


def test_small_pictures_keep_their_names_and_size(tmp_path):
    # What the demo seeder does: a drawn 720 px picture, stored as it is.
    image = photo_like((720, 720))
    stored = store_picture(image, tmp_path)
    assert stored.key == hashlib.sha256(image.tobytes()).hexdigest()[:32]
    assert (stored.width, stored.height) == (720, 720)
    names = sorted(p.name for p in stored_files(tmp_path))
    assert names == sorted(f"{stored.key}-{width}.webp" for width in WIDTHS)
    with Image.open(tmp_path / "p" / f"{stored.key}-1280.webp") as largest:
        assert largest.size == (720, 720)  # never enlarged
