"""Every product card shows its name and price, uncovered (issue 14.1).

A rule meant for the card's link also hit its "+ Keranjang" link, which grew into a
190 px red block over the name and price on home, catalogue, shop pages and "Lainnya
dari toko". Here each card is brought into view and the name and price must lie within
the card and be what the browser finds at their centre (the element or a descendant).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}

# For each card: scroll it into view, then check its name and price.
CHECK_CARDS = """() => {
  const problems = [];
  const cards = [...document.querySelectorAll("ul.grid > li.card")];
  for (const [i, card] of cards.entries()) {
    card.scrollIntoView({block: "center"});
    const box = card.getBoundingClientRect();
    if (box.bottom < 0 || box.top > innerHeight) problems.push(`card ${i}: not in view`);
    for (const part of ["name", "price"]) {
      const el = card.querySelector(`a .${part}`);
      if (!el) { problems.push(`card ${i}: no ${part}`); continue; }
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) { problems.push(`card ${i}: ${part} has no size`); continue; }
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        problems.push(`card ${i}: ${part} outside its card`);
      if (r.bottom > innerHeight || r.top < 0 || r.right > innerWidth || r.left < 0)
        problems.push(`card ${i}: ${part} outside the viewport`);
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (!hit || !(hit === el || el.contains(hit)))
        problems.push(`card ${i}: ${part} covered by ${hit ? hit.outerHTML.slice(0, 80) : "nothing"}`);
    }
  }
  return {count: cards.length, problems};
}"""


def _cards_on(page, path: str) -> dict:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page.evaluate(CHECK_CARDS)


def _pages(page) -> list[str]:
    """The catalogue, home, a shop page and a product page with "Lainnya dari toko"."""
    page.goto("/katalog")
    product = page.locator("li.card a:not(.quick-add)").first.get_attribute("href")
    page.goto(product)
    shop = page.locator(".shop-card a").first.get_attribute("href")
    return ["/katalog", "/", shop, product]


@pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["360px", "1280px"])
def test_names_and_prices_are_visible_on_every_card(new_context, viewport):
    page = new_context().new_page()
    if viewport:
        page.set_viewport_size(viewport)
    catalogue, home, shop, product = _pages(page)
    for path, at_least in ((catalogue, 24), (home, 4), (shop, 1), (product, 1)):
        found = _cards_on(page, path)
        assert found["count"] >= at_least, path
        assert found["problems"] == [], f"{path}: {found['problems'][:6]}"
