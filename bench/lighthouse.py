"""Lighthouse 12.2.3 on the phone preset: home, catalogue, a product and the stand's till.

    make lighthouse          (npm ci in bench/lighthouse, then this script)
    .venv/bin/python bench/lighthouse.py [--products 640] [--scratch DIR] [--keep]

Issue 14: at least 95 in all four categories (performance, accessibility, best
practices, SEO) on each of those pages. Gerai starts as bench/catalogue.py starts it,
with its helpers: a scratch SQLite instance seeded with the demo data through the app's
own CLI (``flask db upgrade``, ``flask seed-demo``: shops, products with pictures, the
fair at Situ Cipondoh), served by gunicorn on loopback. The till is the demo stand
keeper's (penjual1@gerai.test, stand A-001): the script signs in over HTTP and hands
Lighthouse the session cookie.

Lighthouse is the one bench/lighthouse/package-lock.json pins (installed there by
``npm ci``; this script installs nothing), run with CHROME_PATH=/usr/bin/chromium unless
CHROME_PATH says otherwise, with its default settings: a phone (Moto G Power screen,
simulated slow 4G and a 4x slower CPU). Prints the four scores per page and the audits
short of full marks; exits 1 when any score is below 95, or with the reason when
something is broken (no Lighthouse, a page that did not load). A benchmark, not a
test: scores move a point or two on a busy machine.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from catalogue import (  # noqa: E402  (bench/catalogue.py: the scratch instance and gunicorn)
    HOST,
    prepare_scratch,
    scratch_env,
    seed,
    start_server,
    stop_server,
)

from storefront.demo.seed import DEMO_PASSWORD  # noqa: E402

LIGHTHOUSE = BENCH / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
VERSION = "12.2.3"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-sync"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 95
FAIR = "/pameran/pameran-umkm-situ-cipondoh"
KEEPER = "penjual1@gerai.test"  # the demo shop at stand A-001
PRODUCT_LINK = re.compile(r'href="(/produk/\d+/[^"#?]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def first_product(base: str) -> str:
    """The first product the catalogue lists, as a shopper would tap it."""
    with urllib.request.urlopen(f"{base}/katalog", timeout=30) as answer:
        page = answer.read().decode()
    found = PRODUCT_LINK.search(page)
    if found is None:
        raise SystemExit("the catalogue lists no product: was the demo seeded?")
    return found.group(1)


def keeper_cookie(base: str, user_agent: str) -> str:
    """The Cookie header of the stand keeper signed in through the login form, as the
    browser Lighthouse drives (the session is bound to its address and User-Agent)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", user_agent)]
    with opener.open(f"{base}/masuk", timeout=30) as answer:
        token = CSRF.search(answer.read().decode())
    if token is None:
        raise SystemExit("no CSRF token on /masuk")
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "email": KEEPER,
                                   "password": DEMO_PASSWORD}).encode()
    with opener.open(f"{base}/masuk", data=form, timeout=30) as answer:
        if "/masuk" in answer.url:
            raise SystemExit(f"{KEEPER} could not sign in with the demo password")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def lighthouse(url: str, out: Path, headers: dict[str, str] | None = None) -> dict:
    """One Lighthouse run on the phone preset; its JSON report."""
    command = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
               "--form-factor=mobile", f"--only-categories={','.join(CATEGORIES)}",
               f"--chrome-flags={CHROME_FLAGS}"]
    if headers:
        command.append(f"--extra-headers={json.dumps(headers)}")
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROME},
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not out.exists():
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"Lighthouse failed on {url} (exit {done.returncode})")
    report = json.loads(out.read_text())
    report["_seconds"] = time.perf_counter() - started
    if report.get("runtimeError"):
        raise SystemExit(f"Lighthouse could not load {url}: {report['runtimeError']}")
    return report


def scores(report: dict) -> dict[str, int]:
    return {name: round((report["categories"][name]["score"] or 0) * 100)
            for name in CATEGORIES}


def below_target(report: dict) -> list[str]:
    """What kept a category under 100: each audit that did not pass, with its score."""
    lines = []
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                lines.append(f"    {name}: {audit['id']} ({audit['score']:.2f}) {audit['title']}")
    return lines


def check_setup() -> None:
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: run `make lighthouse` (npm ci in bench/lighthouse)")
    installed = json.loads((BENCH / "lighthouse" / "node_modules" / "lighthouse" /
                            "package.json").read_text())["version"]
    if installed != VERSION:
        raise SystemExit(f"Lighthouse {installed} is installed, {VERSION} is pinned: run make lighthouse")
    if not Path(CHROME).is_file():
        raise SystemExit(f"no Chromium at {CHROME} (set CHROME_PATH)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=640, help="demo products (seed-demo's default)")
    parser.add_argument("--shops", type=int, default=None)
    parser.add_argument("--scratch", help="a folder to seed once and reuse (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and the reports")
    parser.add_argument("--seed-timeout", type=float, default=900)
    args = parser.parse_args()
    check_setup()

    scratch, made = prepare_scratch(args)
    env = scratch_env(scratch)
    print(f"Lighthouse {VERSION} (phone preset) with {CHROME}; scratch instance {scratch}")
    if not (scratch / "bench-seeded.json").exists():
        seed(scratch, env, args.products, args.shops, args.seed_timeout)
    server, port = start_server(env, workers=2, log_path=scratch / "gunicorn.log")
    base = f"http://{HOST}:{port}"
    results = {}
    try:
        for name, path in (("home", "/"), ("catalogue", "/katalog"),
                           ("product", first_product(base)), ("till", f"{FAIR}/A-001/kasir")):
            headers = None
            if name == "till":  # signed in with the User-Agent the first run reported
                user_agent = results["home"][1]["environment"]["networkUserAgent"]
                headers = {"Cookie": keeper_cookie(base, user_agent)}
            report = lighthouse(base + path, scratch / f"lighthouse-{name}.json", headers)
            if not report["finalDisplayedUrl"].endswith(path):
                raise SystemExit(f"{path} sent Lighthouse to {report['finalDisplayedUrl']}")
            results[name] = (path, report)
            print(f"  {name:<10} {report['_seconds']:5.1f} s  {path}", flush=True)
    finally:
        stop_server(server)

    print()
    print(f"{'page':<10}" + "".join(f"{c:>16}" for c in CATEGORIES))
    failed = False
    for name, (_path, report) in results.items():
        figures = scores(report)
        low = [c for c in CATEGORIES if figures[c] < TARGET]
        failed = failed or bool(low)
        print(f"{name:<10}" + "".join(f"{figures[c]:>16}" for c in CATEGORIES)
              + (f"   below {TARGET}: {', '.join(low)}" if low else ""))
    print()
    for name, (_path, report) in results.items():
        if lines := below_target(report):
            print(f"  {name}: audits short of full marks")
            print("\n".join(lines))
    print(f"\n{'FAIL' if failed else 'ok'}: every page {'not ' if failed else ''}at least "
          f"{TARGET} in all four categories")
    if args.keep or not made:
        print(f"reports kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
