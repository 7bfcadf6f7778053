"""The API's reference page in Chromium at 360 px: Swagger UI from static/, under the strict
CSP (nonce scripts, no CDN), with every operation of the generated document listed."""

from __future__ import annotations

from playwright.sync_api import expect


def test_the_reference_page_lists_every_operation_without_a_csp_violation(new_context):
    context = new_context()
    context.add_init_script("""
        window.__csp = [];
        document.addEventListener("securitypolicyviolation",
            (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    """)
    page = context.new_page()
    problems, requested = [], []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/")
    expect(page.locator(".opblock").first).to_be_visible()
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/products" in [o.replace("\u200b", "") for o in operations]
    assert len(operations) >= 14
    assert page.evaluate("window.__csp") == [] and problems == []
    base = page.evaluate("location.origin")
    assert all(url.startswith(base) or url.startswith("data:") for url in requested), requested
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
