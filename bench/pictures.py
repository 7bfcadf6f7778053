"""How fast and how lean a 12-megapixel phone photo becomes the stored WebP derivatives.

    .venv/bin/python bench/pictures.py [--runs 5] [--no-baseline]

Makes two realistic 12-megapixel JPEGs in memory (gradients, blobs, texture at
two scales and sensor grain; quality 90; EXIF with camera and GPS tags):

1. a 4000x3000 landscape;
2. a portrait as phones store it: 4000x3000 pixels with EXIF orientation 6,
   shown 3000x4000.

For each, ``load_picture`` + ``store_picture`` (into a fresh temporary media
root, so every run really encodes all three widths) runs ``--runs`` times, each
time in a fresh subprocess:

- time: wall clock (``perf_counter``) from the JPEG bytes in memory to the
  three files on disk, after a warm-up on a tiny JPEG in the same process (so
  plugin imports and codec set-up are not counted, as in a warm web worker);
  best and median of the runs;
- memory: the resident-set high-water mark of that subprocess (Linux
  ``VmHWM`` in /proc/self/status; not ``ru_maxrss``, which inherits the
  parent's peak across fork/exec). Just before the run, after the warm-up and
  with the JPEG bytes loaded, the mark is reset to the current RSS
  (``echo 5 > /proc/self/clear_refs``),
  so the mark after the run is the true peak *during* the run, not an
  import-time peak. ``process`` is that peak for the whole subprocess
  (interpreter, the app's imports, Pillow and the input included): the
  stricter figure, and the one compared with the target. ``growth`` is that
  peak minus the RSS just before the run: what the pipeline itself adds. A
  fresh process per run keeps runs independent (freed memory stays in the
  allocator). Where the reset is not possible the figures are upper bounds
  for ``process`` and lower bounds for ``growth``, and the output says so.
  tracemalloc is printed too, but only as the Python-heap part: it does not
  see Pillow's pixel buffers (allocated with plain malloc in C);
- the size of the 320 px card WebP.

With the baseline on (the default), the same is measured for the straightforward
way (full-scale decode, ImageOps.exif_transpose, store_picture), for comparison.

Targets (the issue): under 1 s, under 300 MB peak, card under 40 KB. Prints the
figures and whether each target is met; it never fails on a missed target.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

TARGET_SECONDS = 1.0
TARGET_MB = 300
TARGET_CARD_BYTES = 40 * 1024


def photo_like(size=(4000, 3000), seed=7):
    from PIL import Image, ImageDraw

    width, height = size
    gradient = Image.linear_gradient("L")
    base = Image.merge("RGB", [gradient.resize(size), gradient.rotate(90).resize(size),
                               Image.radial_gradient("L").resize(size)])
    draw = ImageDraw.Draw(base)
    rng = random.Random(seed)
    for _ in range(40):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(width // 40, width // 6)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    texture = Image.effect_noise((width // 16, height // 16), 60).resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 24)
    return Image.blend(base, Image.merge("RGB", [texture, grain, texture]), 0.25)


def make_jpeg(orientation: int | None) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Bench Camera", "BC-12"
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (6.0, 10.0, 42.0), "E", (106.0, 37.0, 48.0)
    buffer = io.BytesIO()
    photo_like().save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


# --------------------------------------------------------------------------- child

def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (and so ru_maxrss) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as control:
            control.write("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss_kb() -> int:
    return _status_kb("VmRSS") or peak_rss_kb()


def peak_rss_kb() -> int:
    """VmHWM, this address space's RSS high-water mark.

    Not ru_maxrss: Linux carries the parent's peak over into a child's
    ru_maxrss across fork/exec, so a child of a big parent reports the
    parent's figure.
    """
    import resource
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path: str, method: str) -> None:
    """One measured run, in this fresh process; prints one JSON line."""
    import gc
    import time
    import tracemalloc

    sys.path.insert(0, str(ROOT))
    from PIL import Image, ImageOps

    from storefront.media import load_picture, store_picture

    def pipeline(data: bytes, root: Path):
        if method == "baseline":
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image).convert("RGB")
            return store_picture(upright, root)
        return store_picture(load_picture(io.BytesIO(data)), root)

    with tempfile.TemporaryDirectory() as scratch:
        warm = io.BytesIO()
        Image.new("RGB", (64, 48), "teal").save(warm, "JPEG")
        pipeline(warm.getvalue(), Path(scratch) / "warm")  # plugins, codecs, lcms loaded
        data = Path(path).read_bytes()
        if method == "tracemalloc":
            method = "pipeline"
            tracemalloc.start()
            pipeline(data, Path(scratch) / "run")
            print(json.dumps({"tracemalloc_peak": tracemalloc.get_traced_memory()[1]}))
            return
        gc.collect()
        reset = reset_peak_rss()
        before = current_rss_kb()
        started = time.perf_counter()
        stored = pipeline(data, Path(scratch) / "run")
        elapsed = time.perf_counter() - started
        after = peak_rss_kb()
        card = Path(scratch) / "run" / "p" / f"{stored.key}-320.webp"
        print(json.dumps({"seconds": elapsed, "growth_kb": after - before, "process_kb": after,
                          "before_kb": before, "reset": reset,
                          "card_bytes": card.stat().st_size,
                          "size": [stored.width, stored.height], "key": stored.key}))


# --------------------------------------------------------------------------- parent

def run_child(path: Path, method: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", str(path), "--method", method],
                            capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "NOT met"


def measure(label: str, path: Path, method: str, runs: int) -> None:
    results = [run_child(path, method) for _ in range(runs)]
    seconds = sorted(r["seconds"] for r in results)
    growth = max(r["growth_kb"] for r in results) / 1024
    process = max(r["process_kb"] for r in results) / 1024
    card = results[0]["card_bytes"]
    keys = {r["key"] for r in results}
    best, median = seconds[0], statistics.median(seconds)
    print(f"\n{label}")
    print(f"  derivatives  {results[0]['size'][0]}x{results[0]['size'][1]} largest, "
          f"key stable over {runs} runs: {'yes' if len(keys) == 1 else 'NO'}")
    print(f"  time         best {best:.3f} s, median {median:.3f} s, worst {seconds[-1]:.3f} s "
          f"(target < {TARGET_SECONDS:.0f} s: {verdict(median, TARGET_SECONDS)})")
    before = max(r["before_kb"] for r in results) / 1024
    exact = "" if all(r["reset"] for r in results) else " [peak not reset: bounds only]"
    print(f"  memory       process peak {process:.0f} MB during the run ({before:.0f} MB before it), "
          f"pipeline growth {growth:.0f} MB; max over runs{exact} "
          f"(target < {TARGET_MB} MB: {verdict(process, TARGET_MB)})")
    if method == "pipeline":
        heap = run_child(path, "tracemalloc")["tracemalloc_peak"] / 1024 / 1024
        print(f"  python heap  tracemalloc peak {heap:.1f} MB (pixel buffers not included)")
    print(f"  card 320 px  {card / 1024:.1f} KB (target < {TARGET_CARD_BYTES // 1024} KB: "
          f"{verdict(card, TARGET_CARD_BYTES)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true", help="skip the full-scale comparison")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="pipeline", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.method)
        return

    sys.path.insert(0, str(ROOT))
    import PIL
    from PIL import features

    print(f"Pillow {PIL.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}, "
          f"libwebp {features.version('webp')}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {args.runs} runs each, one fresh process per run")
    with tempfile.TemporaryDirectory() as scratch:
        cases = []
        for name, orientation, label in [
            ("landscape", None, "12 MP landscape JPEG, 4000x3000, q90, EXIF+GPS"),
            ("portrait", 6, "12 MP portrait JPEG, 4000x3000 stored + EXIF orientation 6 (3000x4000 shown)"),
        ]:
            path = Path(scratch) / f"{name}.jpg"
            path.write_bytes(make_jpeg(orientation))
            cases.append((f"{label}, {path.stat().st_size / 1024 / 1024:.1f} MB", path))
        for label, path in cases:
            measure(f"{label}\n  load_picture + store_picture", path, "pipeline", args.runs)
        if not args.no_baseline:
            for label, path in cases:
                measure(f"{label}\n  baseline: full-scale decode + exif_transpose + store_picture",
                        path, "baseline", args.runs)


if __name__ == "__main__":
    main()
