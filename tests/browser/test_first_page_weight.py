"""The first page a shopper opens stays light on a phone's data plan: under 60 KB with
everything it loads at once compressed (gzip for text; photos are WebP already). The photos
Chromium fetches ahead of the scroll (lazy loading starts ~1,250 px early) count too."""

import gzip

import pytest

pytestmark = pytest.mark.browser

LIMIT = 60 * 1024
TEXT = ("text/", "application/javascript", "application/json", "image/svg")


def test_first_page_is_under_60_kb_compressed(page):
    path = "/"
    page.goto(path, wait_until="networkidle")
    urls = page.evaluate("[location.href, ...performance.getEntriesByType('resource').map(e => e.name)]")
    sizes = {}
    for url in dict.fromkeys(urls):
        response = page.request.get(url)
        body = response.body()
        text = response.headers.get("content-type", "").startswith(TEXT)
        sizes[url] = len(gzip.compress(body, 6)) if text else len(body)
    total = sum(sizes.values())
    heaviest = sorted(sizes.items(), key=lambda item: -item[1])[:5]
    assert len(sizes) >= 4, f"the page loaded less than its css and scripts: {sizes}"
    assert total < LIMIT, f"{path}: {total / 1024:.1f} KB compressed; heaviest {heaviest}"
