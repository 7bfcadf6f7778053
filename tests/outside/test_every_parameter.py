"""Every route, every parameter (issue 13, "the suite that keeps finding them").

The live app is walked as its users would: a stranger, a shopper, a seller, a cooperative
manager and the city office, each logged in through the real form in their own browser.
From the URL map, the pages' forms and links, and the fields the views read by name
(tests/outside/surface.py), every query parameter, form field and URL argument gets
values a stranger types: digits of other scripts, numbers beyond any id, edge dates,
NUL, 100 000 characters, right-to-left and zero-width text, HTML and htmx attributes.

The app runs as in production: gunicorn (gthread) in its own process, on SQLite and on
PostgreSQL, over demo shops and the two-sided city of tests/security (tests/outside/
conftest.py, ``city``), its error log read after the walk.

Properties: no answer is a 5xx, the server logs no traceback, and nothing typed is lost
without a message: a form a page shows, refused after its text fields were typed into,
says why and still holds what was typed. The counts (routes, parameters, requests, 5xx,
refusals without a message) are printed at the end of the run.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.outside import surface
from tests.outside.conftest import Browser
from tests.outside.gunicorn import Gunicorn

LONG = "x" * 100_000
LONG_IN_URL = "x" * 3_000  # a URL longer than ~4 kB never reaches the app (gunicorn: 400)
HTML = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
HTMX = ('<div hx-post="/admin/pengguna/1/peran" hx-vals=\'{"role":"admin"}\' '
        'hx-trigger="load">x</div>')
SPLITTING = "200 OK\r\nSet-Cookie: x=1\r\nX-Injected: 1"
# Each value goes into each field on its own (label, value): the ones that broke a view.
# What would be stored goes first: an action done once (a void, a rejection) is done
# by the first value that passes, and later values only meet "already done".
VALUES: list[tuple[str, object]] = [
    ("nul", "a\x00b"),  # PostgreSQL refuses NUL in text
    ("long", LONG),
    ("superscript-two", "²"),  # str.isdigit() is true, int() fails
    ("twenty-digits", "9" * 20),  # beyond SQLite's and PostgreSQL's integers
    ("year-1", "0001-01-01"),  # a day before it overflows
    ("year-9999", "9999-12-31"),  # a day after it overflows
    ("status-line", SPLITTING),  # once became the HTTP status line (issue 13.1)
]
# Sent to every field of a form at once, redirects followed to the page that shows them
# (cheaper than one by one, and the fields meet each other's values).
TOGETHER: list[tuple[str, object]] = [
    ("digits-of-other-scripts", "٣５"),  # int() reads them
    ("negative", "-1"),
    ("huge-negative", "-" + "9" * 20),
    ("empty", ""),
    ("rtl-zero-width", "\u202e\u200bكيريبيك\u200d\ufeff\u200f"),
    ("html-and-htmx", HTML + HTMX),
    ("bad-day", "2025-02-30"),
    ("spaces-and-underscores", " 1_000 "),
    ("month-of-year-1", "0001-01"),
    ("month-of-year-9999", "9999-12"),
    ("twice", ["1", "²"]),  # the same name sent twice
]
PATH_VALUES = ["²", "9" * 20, "-1", "a\x00b", LONG_IN_URL, "\u202e\u200b", HTML]
# Requests that end the walker's own session or wipe what the rest of the walk needs go last.
LAST = ("logout", "delete", "revoke", "remove", "cancel", "void", "decide", "reject", "approve")
WALKERS = ("anonymous", "shopper_b", "seller_b", "manager_b", "admin", "organizer", "observer")
ACTION_ORDER = ("anonymous", "shopper_b", "seller_b", "manager_b", "observer", "organizer", "admin")


@dataclass
class Walk:
    base: str
    browsers: dict[str, Browser]
    targets: dict[tuple[str, str, str], surface.Target]  # (endpoint, method, walker)
    rules: list
    adapter: object
    server: Gunicorn
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # from the server's log
    typed: int = 0  # forms sent with what a person typed
    lost: list[str] = field(default_factory=list)  # refused, and no message or values gone
    unexplained: int = 0  # refusals without a message
    fuzzed: set = field(default_factory=set)  # (endpoint, method, name)

    def target_for(self, endpoint: str, method: str, actor: str) -> surface.Target | None:
        """The walker's own target for a form or link on its page, else the route's."""
        return self.targets.get((endpoint, method, actor)) or next(
            (t for (e, m, _a), t in self.targets.items() if (e, m) == (endpoint, method)), None)

    def read_log(self) -> None:
        self.tracebacks += self.server.trouble()

    def problems(self) -> list[str]:
        return sorted(set(self.failures)) + [f"in the server log: {t}" for t in self.tracebacks]

    def send(self, target: surface.Target, data: dict, *, label: str, url: str | None = None,
             files: dict | None = None, headers: dict | None = None,
             follow: bool = True) -> requests.Response | None:
        browser = self.browsers[target.actor]
        url = url or target.url
        try:
            if target.method == "GET":
                response = browser.get(url, params=data, headers=headers,
                                       allow_redirects=follow)
            else:
                response = browser.request(target.method, url, data=data, files=files,
                                           headers=headers, allow_redirects=follow)
        except requests.RequestException as error:
            if not self.failures or "no answer" not in self.failures[-1]:
                self.server.dump_threads()  # the first of a run: where the server waits
            self.requests += 1
            self.failures.append(f"{target.method} {url} [{label}]: no answer ({error!r})")
            return None
        for answer in [*response.history, response]:
            self.requests += 1
            if answer.status_code >= 500:
                self.failures.append(
                    f"{answer.status_code} {target.method} {answer.request.url[:160]} "
                    f"as {target.actor} [{label}]")
            if "x-injected" in answer.headers or "x=1" in answer.headers.get("Set-Cookie", "") \
                    or "\n" in (answer.reason or "") or "Set-Cookie" in (answer.reason or ""):
                self.failures.append(
                    f"response split: {target.method} {answer.request.url[:160]} as "
                    f"{target.actor} [{label}] answered {answer.status_code} {answer.reason!r}")
        return response


def _log_in(base: str, emails: dict) -> dict[str, Browser]:
    browsers = {}
    for actor in WALKERS:
        browser = Browser(base)
        if actor != "anonymous":
            signed_in = browser.login(emails[actor])
            assert signed_in.status_code == 200 and "/masuk" not in signed_in.url, actor
        # Every POST carries the session's token as a header as well: the walk tests what
        # a form's fields do, CSRF has its own tests (tests/security).
        browser.headers["X-CSRFToken"] = browser.token("/")
        browsers[actor] = browser
    return browsers


def _discover(walk: Walk, app) -> None:
    """Each GET route opened by its walker: its forms, links and htmx requests are read,
    and each view's source names the fields it reads that a page did not show. A page
    that sends the stranger elsewhere (checkout with an empty cart) is opened again by
    a shopper with a cart, and its forms are walked by both."""
    queue = [t for (_e, method, _a), t in walk.targets.items() if method == "GET"]
    while queue:
        target = queue.pop(0)
        page = walk.send(target, _base(target), label="page")
        if page is None or "text/html" not in page.headers.get("Content-Type", ""):
            continue
        target.redirects_a_page = bool(page.history)
        if page.history and target.actor == "anonymous":
            queue += _twins(walk, target.endpoint, "shopper_b")
        parsed = surface.parse_page(page.url, page.text)
        target.hx_targets |= parsed.hx_targets
        for form in parsed.forms:
            found = surface.match(walk.adapter, form.action, form.method)
            into = found and walk.target_for(found, form.method, target.actor)
            if not into:
                continue
            if found not in surface.ROUTES and urlsplit(form.action).path != into.url:
                into.url = urlsplit(form.action).path
            if into.form is None and form.method == "POST" and form.typed():
                into.form = form
            for name, value, kind in form.fields:
                into.kinds.setdefault(name, kind)
                if kind == "file":
                    into.files.add(name)
                else:
                    into.add(name, value)
        for method, link, hx_target in parsed.links:
            parts = urlsplit(link)
            if parts.netloc and parts.netloc != urlsplit(walk.base).netloc:
                continue
            found = surface.match(walk.adapter, link, method)
            into = found and walk.target_for(found, method, target.actor)
            if not into:
                continue
            into.asked_by_htmx = into.asked_by_htmx or hx_target
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                into.add(name, None if method != "GET" else value)
    for rule in walk.rules:
        args, form = surface.fields_read(app.view_functions[rule.endpoint])
        for (endpoint, method, _actor), target in walk.targets.items():
            if endpoint == rule.endpoint:
                for name in (args if method == "GET" else form):
                    target.add(name, None)


def _twins(walk: Walk, endpoint: str, actor: str) -> list[surface.Target]:
    """The route's targets again for another walker; returns the new GET one to open."""
    made = []
    for (e, method, _a), target in list(walk.targets.items()):
        if e == endpoint and (e, method, actor) not in walk.targets:
            twin = surface.Target(e, method, target.url, actor,
                                  {k: list(v) for k, v in target.fields.items()})
            walk.targets[(e, method, actor)] = twin
            made += [twin] if method == "GET" else []
    return made


def _base(target: surface.Target) -> dict:
    return {name: values[0] for name, values in target.fields.items() if values}


def _order(targets) -> list[surface.Target]:
    """Pages first; then what shoppers, sellers and managers send; the office's actions
    (assigning a stand, approving a shop, changing roles) and endings last, so one
    walker's action does not take the page from under the next."""
    def key(target):
        return (target.method != "GET", any(word in target.endpoint for word in LAST),
                ACTION_ORDER.index(target.actor))
    return sorted(targets, key=key)


_NUMBERED = re.compile(r"[0-9]+")


def _distinct(names) -> list[str]:
    """One field of each kind: variants-0-name stands for variants-1-name, q-12 for q-13."""
    seen, chosen = set(), []
    for name in names:
        kind = _NUMBERED.sub("#", name)
        if kind not in seen:
            seen.add(kind)
            chosen.append(name)
    return chosen


def _fuzz_fields(walk: Walk) -> None:
    for target in _order(walk.targets.values()):
        if target.endpoint == "accounts.logout" and target.actor != "anonymous":
            continue
        base = _base(target)
        names = [n for n in target.fields if n != "csrf_token"]
        in_url = target.method == "GET"
        if not in_url:  # as the page would send it, first
            walk.send(target, base, label="as sent", headers=target.htmx_only)
        for name in _distinct(names):
            walk.fuzzed.add((target.endpoint, target.method, _NUMBERED.sub("#", name)))
            for label, value in VALUES:
                if in_url and value is LONG:
                    value = LONG_IN_URL
                walk.send(target, {**base, name: value}, label=f"{name}={label}", follow=False,
                          headers=target.htmx_only)
        for label, value in TOGETHER:
            if names:
                walk.send(target, {**base, **{n: value for n in names}}, label=f"*={label}",
                          headers=target.htmx_only)
        for name in target.files:
            walk.fuzzed.add((target.endpoint, target.method, name))
            for filename in ("a\x00b.jpg", "../../" + "x" * 300 + ".png", "²٣５.webp"):
                walk.send(target, base, label=f"{name}=file {filename[:12]!r}",
                          files={name: (filename, b"\x00GIF89a not an image", "image/png")})
        for hx_target in sorted(target.hx_targets) if target.method == "GET" else ():
            walk.send(target, base, label=f"HX-Target {hx_target}",
                      headers={"HX-Request": "true", "HX-Target": hx_target})


# --- nothing typed is lost without a message --------------------------------------------------

# What a person types or pastes into the text fields of a form, all of them at once.
TYPED_VALUES: list[tuple[str, str]] = [
    ("empty", ""),
    ("html-and-htmx", HTML + HTMX),
    ("pasted-page", "Kopi " * 1_000),
    ("digits-of-other-scripts", "٣٥"),
    ("rtl-zero-width", "\u202e\u200bكيريبيك\u200d\ufeff\u200f"),
    ("line-breaks-and-nul", "baris\r\nbaru\x00\t"),
]
class Messages(HTMLParser):
    """The project's error markup, shown: a message next to a field (macros.field,
    p.error), a notice for the form (error-box, role=alert), our error page's reason, a
    field marked invalid; not a hidden element waiting for one (the till's)."""

    def __init__(self, html: str):
        super().__init__()
        self.found = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "hidden" in a or self.found:
            return
        classes = set((a.get("class") or "").split())
        self.found = bool(classes & {"error", "error-box", "invalid"}) or a.get("role") == "alert" \
            or a.get("aria-invalid") == "true" or "data-error-message" in a


# A refusal told after a redirect: an error flashed on the page the form is on again.
FLASHED_ERROR = re.compile(r'<div class="flash"[^>]*>(?:(?!</div>).)*role="alert"', re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _as_shown(value: str) -> str:
    """What a form may fairly show back of a typed value: without control characters
    (storefront/forms.py drops them, tests/outside/test_control_characters.py), with
    runs of spaces and line breaks as one space, ends trimmed."""
    return " ".join(_CONTROL.sub("", value).split())


def _type_into_forms(walk: Walk, values=TYPED_VALUES) -> None:
    """Each form a page shows, sent as its person would after typing into its text fields.
    Where the answer refuses it (a 4xx, or the form again instead of the next page), it
    says why (a message at a field, or for the form) and every text field still holds
    what was typed, passwords aside. An htmx form refused with anything but 409/422 keeps
    its fields as they were (htmx swaps nothing) and gerai.js shows the answer's reason."""
    for target in _order(walk.targets.values()):
        form = target.form
        if form is None or target.endpoint == "accounts.logout":
            continue
        for label, value in values:
            _type_into(walk, target, {name: form.as_typed(name, value)
                                      for name, _v, _k in form.typed()}, label)


def _type_into(walk: Walk, target: surface.Target, typed: dict, label: str) -> None:
    form = target.form
    data = {**_base(target), **{n: v for n, v, _k in form.fields if v is not None}, **typed}
    action = urlsplit(form.action)
    url = action.path + (f"?{action.query}" if action.query else "")
    answer = walk.send(target, data, url=url, label=f"typed {label}", headers=form.headers)
    if answer is None or answer.status_code >= 500:
        return  # counted as a failure already
    walk.typed += 1
    htmx = form.htmx_target is not None
    if htmx and answer.status_code >= 400 and answer.status_code not in (409, 422):
        return
    html = answer.text if "text/html" in answer.headers.get("Content-Type", "") else ""
    again = [f for f in surface.parse_page(answer.url, html).forms
             if urlsplit(f.action).path == action.path and f.method == form.method] if html else []
    said = Messages(html).found if html else False
    refused = answer.status_code >= 400 or (again and (
        FLASHED_ERROR.search(html) if answer.history else (said or not htmx)))
    if not refused:
        return
    where = f"{target.method} {url[:100]} as {target.actor} [typed {label}]: {answer.status_code}"
    if not said:
        walk.unexplained += 1
        walk.lost.append(f"{where}, refused without a message")
    if not again:
        # A 409 says what the form would change has changed (an order moved on): the
        # message is the news, and the form it no longer offers has nothing to keep.
        if not (answer.status_code == 409 and said):
            walk.lost.append(f"{where}, the form is gone with what was typed")
        return
    shown = {n: v or "" for n, v, _k in again[0].fields}
    gone = sorted(name for name, value in typed.items()
                  if form_kind(form, name) != "password" and _as_shown(value)
                  and _as_shown(shown.get(name, "")) != _as_shown(value))
    if gone:
        walk.lost.append(f"{where}, typed text gone from {', '.join(gone)}")


TYPED_EXAMPLES = 30


def _random_typing(walk: Walk) -> None:
    """Hypothesis types into the forms: one text field, or all of them, gets its text."""
    forms = sorted(key for key, t in walk.targets.items()
                   if t.form is not None and t.endpoint != "accounts.logout")

    @settings(max_examples=TYPED_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from(forms), text=st.one_of(st.text(max_size=60), TEXT),
           everywhere=st.booleans(), pick=st.integers(0, 99))
    def one(key, text, everywhere, pick):
        target = walk.targets[key]
        names = [name for name, _v, _k in target.form.typed()]
        chosen = names if everywhere else [names[pick % len(names)]]
        _type_into(walk, target, {n: target.form.as_typed(n, text) for n in chosen},
                   f"{chosen[0] if len(chosen) == 1 else '*'}={text!r}"[:80])

    if forms:
        one()


def form_kind(form: surface.Form, name: str) -> str:
    return next((k for n, _v, k in form.fields if n == name), "")


_ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")


def _path_with(rule, arguments: dict, name: str, raw: str) -> str:
    """The rule's path with its other arguments as they were and ``name`` as typed."""
    def part(found):
        argument = found.group(1)
        if argument == name:
            return quote(raw, safe="")
        return rule._converters[argument].to_url(arguments[argument])
    return _ARGUMENT.sub(part, rule.rule)


def _fuzz_url_arguments(walk: Walk) -> None:
    for target in _order(walk.targets.values()):
        if target.endpoint == "accounts.logout":
            continue
        try:
            rule, arguments = walk.adapter.match(target.url, method=target.method,
                                                 return_rule=True)
        except Exception:  # noqa: BLE001 (a target whose URL no longer matches: skip it)
            continue
        for name in sorted(rule.arguments):
            walk.fuzzed.add((target.endpoint, target.method, f"<{name}>"))
            for value in PATH_VALUES:
                walk.send(target, _base(target) if target.method != "GET" else {},
                          url=_path_with(rule, arguments, name, value),
                          label=f"<{name}>={value[:12]!r}", follow=False)


@pytest.fixture
def walk(city):
    rules, targets = surface.route_targets(city.app.url_map, city.world.ids)
    walker = Walk(city.url, {}, targets, rules, city.app.url_map.bind("127.0.0.1"), city.server)
    city.server.trouble()  # what an earlier test left in the log is that test's
    try:
        walker.browsers = _log_in(city.url, city.world.emails)
        _discover(walker, city.app)
        yield walker
    finally:
        for browser in walker.browsers.values():
            browser.close()


def _report(record_property, walk: Walk, name: str) -> None:
    walk.read_log()
    endpoints = {rule.endpoint for rule in walk.rules}
    counts = {"routes": len(endpoints), "parameters": len(walk.fuzzed),
              "requests": walk.requests,
              "5xx": sum(1 for f in walk.failures if f[:1] == "5"),
              "tracebacks": len(walk.tracebacks), "forms typed into": walk.typed,
              "refused-without-message": walk.unexplained,
              "typed text lost": len(walk.lost) - walk.unexplained}
    record_property(name, counts)


def test_every_parameter_of_every_route_answers_without_a_server_error(walk, record_property):
    unreached = sorted({r.endpoint for r in walk.rules} - {e for e, _m, _a in walk.targets})
    assert not unreached, f"routes the walk could not build a URL for: {unreached}"
    try:
        _type_into_forms(walk)
        _random_typing(walk)
        _fuzz_fields(walk)
        _fuzz_url_arguments(walk)
        _random_values(walk)
    finally:
        _report(record_property, walk, "every parameter")
    assert walk.fuzzed and walk.requests
    # Coverage: a walker logged out on the way (by a route it fuzzed) walked the rest
    # of its routes as a stranger.
    signed_out = [actor for actor, browser in walk.browsers.items() if actor != "anonymous"
                  and "/masuk" in browser.get("/akun/pesanan").url]
    assert not signed_out, f"walkers no longer signed in at the end: {signed_out}"
    problems = walk.problems()
    lost = sorted(set(walk.lost))
    assert not problems and not lost, (
        f"{len(problems)} server errors:\n" + "\n".join(problems[:150])
        + f"\n\n{len(lost)} refusals that lose what was typed or say nothing:\n"
        + "\n".join(lost[:150]))


# --- and values nobody thought of ---------------------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.tuples(st.integers(0, 99999), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"),
    st.sampled_from([v for _label, v in VALUES + TOGETHER if isinstance(v, str)]),
)
RANDOM_EXAMPLES = 120


def _random_values(walk: Walk) -> None:
    """Hypothesis picks fields and values: over many runs it tries what the lists above do
    not. Every request is checked like the others; a failure names field and value."""
    fields = sorted((key, n) for key, t in walk.targets.items() for n in t.fields
                    if n != "csrf_token" and t.endpoint != "accounts.logout")

    @settings(max_examples=RANDOM_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(choice=st.sampled_from(fields), values=st.lists(TEXT, min_size=1, max_size=3),
           seed=st.integers(0, 2**16))
    def one(choice, values, seed):
        key, name = choice
        endpoint, method, _actor = key
        target = walk.targets[key]
        data = _base(target)
        # now and then another field of the form gets a value too
        others = [n for n in target.fields if n not in ("csrf_token", name)]
        if others and seed % 3 == 0:
            data[random.Random(seed).choice(others)] = values[-1]
        data[name] = values if len(values) > 1 else values[0]
        walk.fuzzed.add((endpoint, method, _NUMBERED.sub("#", name)))
        walk.send(target, data, label=f"{name}={values!r}"[:160], follow=False,
                  headers=target.htmx_only)

    one()
