"""Image decoding fuzzed (issue 20.8): mutated JPEG, PNG and WebP bytes either become a
picture or are refused with a reason (PictureRejected), never another error, never a hang
(each example runs under an alarm)."""

from __future__ import annotations

import io
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from storefront.media import PictureRejected, load_picture


def _seed(fmt: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 48), (180, 90, 40))
    for x in range(0, 64, 8):
        image.paste((20, 120, 200), (x, 0, x + 4, 48))
    image.save(buffer, fmt)
    return buffer.getvalue()


SEEDS = {fmt: _seed(fmt) for fmt in ("JPEG", "PNG", "WEBP")}


@st.composite
def mutated(draw):
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "big"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "big" and len(data) > at + 4:
            data[at:at + 4] = b"\xff\xff\xff\x7f"  # a size or dimension gone huge
    return bytes(data)


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_pictures_are_decoded_or_refused_never_anything_else(data):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)
    try:
        load_picture(io.BytesIO(data))
    except PictureRejected as refused:
        assert refused.code in ("not_image", "unsupported", "too_large", "too_many_pixels",
                                "truncated")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
