"""The catalogue as a shopper on a phone sees it: search as you type, filters,
endless scrolling, the back button, and the same page with JavaScript off.

The live server holds the demo catalogue (200 products, 45 shops, fixed seed),
so every value used here is read from the rendered page, not assumed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PAGE_SIZE = 24
NO_RELOAD = "window.__noReload = 1"
STILL_SAME_DOCUMENT = "window.__noReload === 1"


def _count(text: str) -> int:
    match = re.search(r"(\d+) produk ditemukan", text)
    assert match, f"no result count in {text!r}"
    return int(match.group(1))


def _open_catalogue(page: Page, path: str = "/katalog") -> None:
    page.goto(path)
    expect(page.locator("li.card").first).to_be_visible()
    # goto() waits for "load": the deferred htmx has wired up the form by then
    assert page.evaluate("typeof window.htmx") == "object"


def _settled(page: Page) -> None:
    """Wait for htmx to finish the swap it has started.

    htmx pushes the new URL just before it swaps, and wires up the swapped-in
    elements (the scroll sentinel) only when the swap settles, 20 ms later: a
    scroll in between is lost. Call this once the new URL or content is seen.
    """
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def _result_count(page: Page):
    return page.locator("#hasil .result-count")


def _open_filters(page: Page) -> None:
    """On a phone the filter panel starts folded away behind "Saring"."""
    panel = page.locator("details.facets")
    if panel.get_attribute("open") is None:
        page.get_by_text("Saring", exact=True).click()
    expect(panel).to_have_attribute("open", "")


def _choice_name(name: str) -> re.Pattern:
    """A filter choice's accessible name: its text, then how many products it has."""
    return re.compile(rf"^\s*{re.escape(name)}(\s+\d+)?\s*$")


def _facet(page: Page, group: str, name: str):
    return page.get_by_role("group", name=group).get_by_label(_choice_name(name))


def _facet_count(page: Page, group: str, name: str) -> int:
    """The number printed next to a filter choice."""
    label = page.get_by_role("group", name=group).locator("label").filter(
        has=page.get_by_label(_choice_name(name)))
    return int(label.locator(".count").inner_text())


def test_typing_a_misspelled_query_shows_matching_products_without_a_reload(page: Page):
    _open_catalogue(page)
    before = _result_count(page).inner_text()
    page.evaluate(NO_RELOAD)

    page.get_by_label("Cari produk").press_sequentially("kripik pedes", delay=20)

    expect(page.locator("#hasil li.card .name").filter(has_text="Keripik Pedas").first).to_be_visible()
    expect(_result_count(page)).not_to_have_text(before)
    expect(page).to_have_url(re.compile(r"[?&]q=kripik(\+|%20)pedes"))
    _settled(page)
    assert page.evaluate(STILL_SAME_DOCUMENT), "typing reloaded the whole page"
    assert page.get_by_label("Cari produk").input_value() == "kripik pedes"


def _filter_to_makanan(page: Page) -> int:
    """Open the catalogue and choose the food category; returns its count."""
    _open_catalogue(page)
    everything = _count(_result_count(page).inner_text())
    page.evaluate(NO_RELOAD)
    _open_filters(page)

    makanan = _facet_count(page, "Kategori", "Makanan")
    assert 0 < makanan < everything
    _facet(page, "Kategori", "Makanan").check()
    expect(_result_count(page)).to_have_text(re.compile(rf"^\s*{makanan} produk ditemukan"))
    expect(page).to_have_url(re.compile(r"[?&]kategori=makanan(&|$)"))
    _settled(page)
    return makanan


def test_a_filter_then_a_search_and_back_returns_to_the_filtered_results(page: Page):
    makanan = _filter_to_makanan(page)
    after_filter = page.url

    page.get_by_label("Cari produk").press_sequentially("keripik", delay=20)
    expect(page).to_have_url(re.compile(r"[?&]q=keripik(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]kategori=makanan(&|$)"))
    _settled(page)
    searched = _count(_result_count(page).inner_text())
    assert 0 < searched < makanan
    expect(page.locator("#hasil li.card")).to_have_count(min(searched, PAGE_SIZE))
    assert page.evaluate(STILL_SAME_DOCUMENT), "searching reloaded the whole page"

    page.go_back()
    expect(page).to_have_url(after_filter)
    expect(_result_count(page)).to_have_text(re.compile(rf"^\s*{makanan} produk ditemukan"))
    expect(page.get_by_label("Cari produk")).to_have_value("")
    _open_filters(page)
    expect(_facet(page, "Kategori", "Makanan")).to_be_checked()


def test_two_filters_one_after_another_narrow_the_results_and_back_undoes_one(page: Page):
    makanan = _filter_to_makanan(page)
    after_first = page.url
    expect(_facet(page, "Kategori", "Makanan")).to_be_checked()

    koperasi = _facet_count(page, "Jenis toko", "Koperasi")
    assert 0 < koperasi < makanan
    _facet(page, "Jenis toko", "Koperasi").check()
    expect(_result_count(page)).to_have_text(re.compile(rf"^\s*{koperasi} produk ditemukan"))
    expect(page).to_have_url(re.compile(r"[?&]kategori=makanan(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]jenis=koperasi(&|$)"))
    assert page.evaluate(STILL_SAME_DOCUMENT), "a filter reloaded the whole page"

    page.go_back()
    expect(page).to_have_url(after_first)
    expect(_result_count(page)).to_have_text(re.compile(rf"^\s*{makanan} produk ditemukan"))
    _open_filters(page)
    expect(_facet(page, "Kategori", "Makanan")).to_be_checked()
    expect(_facet(page, "Jenis toko", "Koperasi")).not_to_be_checked()


def test_scrolling_to_the_bottom_loads_the_next_cards(page: Page):
    _open_catalogue(page)
    cards = page.locator("#daftar li.card")
    expect(cards).to_have_count(PAGE_SIZE)
    assert _count(_result_count(page).inner_text()) > PAGE_SIZE
    url = page.url
    page.evaluate(NO_RELOAD)

    page.mouse.wheel(0, 50_000)

    expect(cards.nth(PAGE_SIZE)).to_be_visible()
    assert cards.count() > PAGE_SIZE
    _assert_distinct(cards)
    assert page.url == url
    assert page.evaluate(STILL_SAME_DOCUMENT), "scrolling reloaded the whole page"


def test_scrolling_a_search_loads_the_rest_of_its_results_only(page: Page):
    _open_catalogue(page)
    page.get_by_label("Cari produk").press_sequentially("kopi", delay=20)
    expect(page).to_have_url(re.compile(r"[?&]q=kopi(&|$)"))
    _settled(page)
    total = _count(_result_count(page).inner_text())
    assert total > PAGE_SIZE, "the demo data should give kopi more than one page"
    cards = page.locator("#daftar li.card")
    expect(cards).to_have_count(PAGE_SIZE)
    url = page.url
    page.evaluate(NO_RELOAD)

    for _ in range(total // PAGE_SIZE):
        shown = cards.count()
        page.mouse.wheel(0, 50_000)
        expect(cards).to_have_count(min(total, shown + PAGE_SIZE))
        _settled(page)

    expect(cards).to_have_count(total)
    expect(page.locator("#berikutnya")).to_have_count(0)
    _assert_distinct(cards)
    assert page.url == url
    assert page.evaluate(STILL_SAME_DOCUMENT), "scrolling reloaded the whole page"


def _hrefs(cards) -> list[str]:
    return cards.locator("a:not(.quick-add)").evaluate_all("links => links.map(a => a.getAttribute('href'))")


def _assert_distinct(cards) -> None:
    hrefs = _hrefs(cards)
    assert len(set(hrefs)) == len(hrefs), "the next page repeated cards already shown"


def test_without_javascript_the_form_and_the_next_page_link_work(new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/katalog")
    expect(page.locator("li.card")).to_have_count(PAGE_SIZE)

    page.get_by_label("Cari produk").fill("kopi")
    page.get_by_role("button", name="Cari", exact=True).click()

    expect(page).to_have_url(re.compile(r"/katalog\?(.*&)?q=kopi(&|$)"))
    total = _count(_result_count(page).inner_text())
    assert total > PAGE_SIZE
    cards = page.locator("#daftar li.card")
    expect(cards).to_have_count(PAGE_SIZE)
    expect(cards.filter(has_text=re.compile("kopi", re.I)).first).to_be_visible()
    first_page = _hrefs(cards)

    page.get_by_role("link", name="Halaman berikutnya").click()

    expect(page).to_have_url(re.compile(r"[?&]hal=2(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]q=kopi(&|$)"))
    expect(cards).to_have_count(total - PAGE_SIZE if total < 2 * PAGE_SIZE else PAGE_SIZE)
    second_page = _hrefs(cards)
    assert not set(first_page) & set(second_page)
    expect(page.get_by_role("link", name="Halaman sebelumnya")).to_be_visible()


def test_phone_width_has_no_sideways_scroll_and_every_control_is_labelled(page: Page):
    _open_catalogue(page)
    width = "document.documentElement.scrollWidth"
    assert page.evaluate(width) <= 360

    expect(page.get_by_label("Cari produk")).to_be_editable()
    expect(page.get_by_label("Urutkan")).to_be_visible()
    _open_filters(page)
    assert page.evaluate(width) <= 360
    expect(_facet(page, "Kategori", "Semua")).to_be_checked()
    expect(_facet(page, "Kategori", "Makanan")).to_be_visible()
    expect(_facet(page, "Kecamatan", "Semua")).to_be_checked()
    expect(_facet(page, "Jenis toko", "Koperasi")).to_be_visible()
    expect(_facet(page, "Harga", "Semua harga")).to_be_checked()
    expect(page.get_by_label("Harga minimal")).to_be_editable()
    expect(page.get_by_label("Harga maksimal")).to_be_editable()
    expect(page.get_by_label("Hanya yang ada stok")).not_to_be_checked()
    unlabelled = page.locator("#cari").evaluate(
        """form => [...form.querySelectorAll('input, select')]
                   .filter(el => el.type !== 'hidden' && !el.labels.length
                                 && !el.getAttribute('aria-label'))
                   .map(el => el.outerHTML)""")
    assert unlabelled == []

    # a long query echoed back into the page must not widen it either
    page.get_by_label("Cari produk").fill("keripik singkong balado pedas manis gurih renyah")
    expect(page).to_have_url(re.compile(r"q=keripik"))
    _settled(page)
    assert page.evaluate(width) <= 360


def test_catalogue_has_no_console_errors_or_csp_violations(new_context):
    context = new_context()
    context.add_init_script("""
        window.__csp = [];
        document.addEventListener("securitypolicyviolation",
            (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    """)
    page = context.new_page()
    problems = []

    def on_console(message):
        if message.type == "error":
            problems.append(f"{message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("response", lambda response: response.status >= 400
            and problems.append(f"{response.status}: {response.url}"))

    _open_catalogue(page)
    _open_filters(page)
    _facet(page, "Kategori", "Makanan").check()
    expect(page).to_have_url(re.compile(r"kategori=makanan"))
    _settled(page)
    page.get_by_label("Cari produk").fill("keripik")
    expect(page).to_have_url(re.compile(r"q=keripik"))
    _settled(page)
    expect(page.locator("#hasil li.card").first).to_be_visible()
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"q=keripik"))
    _settled(page)
    page.get_by_label("Urutkan").select_option("termurah")
    expect(page).to_have_url(re.compile(r"urut=termurah"))
    _settled(page)
    page.mouse.wheel(0, 50_000)
    expect(page.locator("#daftar li.card").nth(PAGE_SIZE)).to_be_attached()
    page.wait_for_load_state("networkidle")

    assert page.evaluate("window.__csp") == []
    assert [p for p in problems if "Content Security Policy" in p] == []
    assert problems == []
