"""What a person sees at 360 px: is it on the screen, is anything on top of it, does the page
scroll sideways, can a thumb hit it. Shared by the browser tests of issue 14."""

from __future__ import annotations

# Where the element is, whether its centre is on the screen and not under something else
# (document.elementFromPoint at the centre returns it or one of its descendants).
_SEEN = """el => {
  const r = el.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, (innerHeight - r.top) / 2);
  const hit = document.elementFromPoint(x, y);
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          width: r.width, height: r.height, viewport: [innerWidth, innerHeight],
          covered_by: hit && !(hit === el || el.contains(hit))
            ? (hit.tagName + '.' + hit.className) : null,
          hit: !!hit};
}"""


def where(locator) -> dict:
    return locator.evaluate(_SEEN)


def assert_seen(locator, what: str) -> None:
    """The element is on the screen (all of it, or its top if it is taller than the screen)
    and its centre is not covered by anything else."""
    box = where(locator)
    width, height = box["viewport"]
    assert box["width"] > 0 and box["height"] > 0, f"{what} takes no space: {box}"
    assert box["left"] >= -1 and box["right"] <= width + 1, f"{what} is off the screen sideways: {box}"
    tall = box["height"] > height
    assert box["top"] >= -1, f"{what} starts above the screen: {box}"
    assert tall or box["bottom"] <= height + 1, f"{what} ends below the screen: {box}"
    assert box["hit"], f"{what}: nothing at its centre: {box}"
    assert box["covered_by"] is None, f"{what} is covered by {box['covered_by']}: {box}"


def wait_seen(locator, what: str, timeout_ms: int = 4_000) -> None:
    """assert_seen, allowed a moment for a scroll or a swap still under way."""
    waited = 0
    while True:
        try:
            assert_seen(locator, what)
            return
        except AssertionError:
            if waited >= timeout_ms:
                raise
        locator.page.wait_for_timeout(100)
        waited += 100


def sideways_overflow(page) -> int:
    """How many CSS px the page scrolls sideways (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - innerWidth")


# Visible controls smaller than 24 x 24 CSS px (WCAG 2.2 target size, axe `target-size`).
# Links inside a sentence are exempt, as in WCAG; a radio or checkbox counts by its label.
_SMALL_TARGETS = """() => {
  const small = [];
  const controls = document.querySelectorAll(
    'button, select, summary, input:not([type=hidden]), textarea, a[href]');
  for (const el of controls) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('[hidden], .visually-hidden, .skip')) continue;
    let r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (el.matches('a') && el.closest('p, li.sale, dd, td, .hint, .meta, .crumbs, .description')
        && style.display === 'inline') continue;
    if (el.matches('input[type=radio], input[type=checkbox]') && el.closest('label')) {
      r = el.closest('label').getBoundingClientRect();
    }
    if (r.width < 24 || r.height < 24) {
      small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim().slice(0, 30)}" `
                 + `${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""


def small_targets(page) -> list[str]:
    return page.evaluate(_SMALL_TARGETS)
