"""The app's attack surface as a stranger finds it: every route of the URL map, the forms
and links on its pages, and the request fields its views read.

Nothing here names a route or a field: a new route, form or field is found the day it
ships. Routes get their sample URL (and who may use them) from tests/security/routes.py,
which tests/security/test_inventory.py already makes every route fill in; a route not
there is still walked, with ids guessed from the names of its URL arguments.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from tests.security.routes import NOT_VIEWS, ROUTES, url_of

# Who walks a route: the first of these that may use it (a stranger where anyone may).
ACTORS = ("anonymous", "shopper_b", "seller_b", "manager_b", "admin", "organizer", "observer")
SKIPPED = NOT_VIEWS | {"webhooks.receive"}  # signed by the gateway: its own tests fuzz it


@dataclass
class Target:
    """One (endpoint, method) with a URL that reaches it, who may use it, and its fields."""

    endpoint: str
    method: str
    url: str
    actor: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> base values
    files: set[str] = field(default_factory=set)
    hx_targets: set[str] = field(default_factory=set)
    asked_by_htmx: str | None = None  # the HX-Target of an htmx request seen for it
    redirects_a_page: bool = False  # opened as a page, it sends the browser elsewhere
    kinds: dict[str, str] = field(default_factory=dict)  # field name -> its input type
    form: "Form | None" = None  # the first form on a page that sends here

    @property
    def htmx_only(self) -> dict:
        """Headers for a route that answers only htmx (a poller): else it just redirects."""
        if self.asked_by_htmx and self.redirects_a_page:
            return {"HX-Request": "true", "HX-Target": self.asked_by_htmx}
        return {}

    def add(self, name: str, value: str | None) -> None:
        values = self.fields.setdefault(name, [])
        if value is not None and not values:
            values.append(value)


# --- pages ---------------------------------------------------------------------------------

@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str | None, str]] = field(default_factory=list)  # name, value, type
    htmx_target: str | None = None  # sent by htmx: the HX-Target it sends ("" for none)
    limits: dict[str, int] = field(default_factory=dict)  # a field's maxlength

    def as_typed(self, name: str, value: str) -> str:
        """What a browser sends of ``value`` typed or pasted into the field (maxlength)."""
        limit = self.limits.get(name)
        return value[:limit] if limit is not None else value

    @property
    def headers(self) -> dict:
        if self.htmx_target is None:
            return {}
        return {"HX-Request": "true", **({"HX-Target": self.htmx_target}
                                         if self.htmx_target else {})}

    def typed(self) -> list[tuple[str, str, str]]:
        """The fields a person types into: (name, value, type)."""
        return [(n, v or "", k) for n, v, k in self.fields if k in TYPED]


# Where a person types (the rest are chosen, ticked or sent by the page). A number or
# date field takes only what the browser lets through; ours read numbers from text fields.
TYPED = {"text", "search", "email", "tel", "url", "password", "textarea"}


class PageParser(HTMLParser):
    """Forms (with their fields' current values), links and htmx requests of one page."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[Form] = []
        # (method, url, the HX-Target an htmx request sends, or None for a plain link)
        self.links: list[tuple[str, str, str | None]] = []
        self.hx_targets: set[str] = set()
        self._form: Form | None = None
        self._select: tuple[str, list[str]] | None = None  # name, [selected or first]
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        for verb in ("get", "post", "put", "patch", "delete"):
            if a.get(f"hx-{verb}") and tag != "form":
                self.links.append((verb.upper(), urljoin(self.url, a[f"hx-{verb}"]),
                                   a.get("hx-target", "").lstrip("#") or "htmx"))
        if (target := a.get("hx-target", "")).startswith("#"):
            self.hx_targets.add(target[1:])
        if tag == "a" and a.get("href"):
            self.links.append(("GET", urljoin(self.url, a["href"]), None))
        elif tag == "form":
            action = a.get("hx-post") or a.get("hx-get") or a.get("action") or self.url
            method = "POST" if a.get("hx-post") else (a.get("method") or "GET").upper()
            htmx = None
            if a.get("hx-post") or a.get("hx-get") or "hx-boost" in a:
                target = a.get("hx-target", "")
                htmx = target[1:] if target.startswith("#") else (
                    a.get("id", "") if target == "this" else "")
            self._form = Form(urljoin(self.url, action), method, htmx_target=htmx)
            self.forms.append(self._form)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if "selected" in a:
                self._select[1].insert(0, value)
            else:
                self._select[1].append(value)
        if tag in ("a", "form", "option") or self._form is None or not a.get("name"):
            return
        if a.get("maxlength", "").isascii() and a.get("maxlength", "").isdigit():
            self._form.limits.setdefault(a["name"], int(a["maxlength"]))
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "radio" and any(n == a["name"] for n, _v, _t in self._form.fields):
                if "checked" in a:  # the checked one is the base value
                    self._form.fields.insert(0, (a["name"], a.get("value", "on"), kind))
                return
            # A box is sent ticked: what it unlocks (a stand's fair stock) gets read too.
            self._form.fields.append((a["name"], a.get("value", "on" if kind in (
                "checkbox", "radio") else ""), kind))
        elif tag == "button" and a.get("value") is not None:
            self._form.fields.append((a["name"], a.get("value", ""), "button"))
        elif tag == "select":
            self._select = (a["name"], [])
        elif tag == "textarea":
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options = self._select
            self._form.fields.append((name, options[0] if options else "", "select"))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], self._textarea[1], "textarea"))
            self._textarea = None


def parse_page(url: str, html: str) -> PageParser:
    parser = PageParser(url)
    parser.feed(html)
    parser.close()
    return parser


# --- what the views read -------------------------------------------------------------------

_READ = re.compile(r"request\.(args|form|values|files)(?:\.get(?:list)?\(\s*|\[\s*)"
                   r"[\"']([A-Za-z0-9_\-]+)[\"']")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")


def _reachable_sources(function) -> list[tuple[int, str]]:
    """(depth, source) of the view and of its module's functions and form classes it calls,
    two levels down."""
    module = sys.modules[function.__module__]
    sources, seen, todo = [], set(), [(function, 0)]
    while todo:
        current, depth = todo.pop()
        try:
            source = inspect.getsource(current)
        except (OSError, TypeError):
            continue
        sources.append((depth, source))
        if depth >= 2:
            continue
        for name in set(_CALL.findall(source)):
            found = getattr(module, name, None)
            if found is None or name in seen:
                continue
            if (inspect.isfunction(found) and found.__module__ == module.__name__) or (
                    inspect.isclass(found) and hasattr(found, "_unbound_fields")):
                seen.add(name)
                todo.append((found, depth + 1))
    return sources


def _form_fields(form_class) -> list[str]:
    from wtforms.fields import FieldList, FormField
    from wtforms.fields.core import UnboundField

    names = []
    for klass in form_class.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, UnboundField) and value.field_class not in (FieldList, FormField):
                names.append(name)
    return names


def fields_read(view) -> tuple[set[str], set[str]]:
    """Query-string and form field names a view (or what it calls) reads by name."""
    from flask_wtf import FlaskForm

    args, form = set(), set()
    module = sys.modules[view.__module__]
    for _depth, source in _reachable_sources(view):
        for where, name in _READ.findall(source):
            (args if where == "args" else form).add(name)
            if where == "values":
                args.add(name)
        # The forms it makes from the request (not those made with formdata=None to show).
        for name in set(_CALL.findall(source)):
            klass = getattr(module, name, None)
            if not (inspect.isclass(klass) and hasattr(klass, "_unbound_fields")):
                continue
            calls = re.findall(rf"\b{name}\(([^()]*)", source)
            if all("formdata=None" in call for call in calls):
                continue
            if any(call.lstrip().startswith("request.args") for call in calls):
                args.update(_form_fields(klass))
            elif issubclass(klass, FlaskForm):
                form.update(_form_fields(klass))
    return args, form


# --- the walk -------------------------------------------------------------------------------

_GUESSES = {  # a URL argument's name -> the world id it most likely means
    "product_id": "public_product_id", "image_id": "image_id", "job_id": "job_id",
    "order_id": "order_id", "line_id": "line_id", "membership_id": "membership_id",
    "category_id": "category_id", "user_id": "user_id", "shop_id": "shop_id",
    "token": "pay_token", "charge": "charge", "order": "sale", "code": "stand",
    "slug": "fair", "kind": None,
}


def sample_url(rule, ids: dict) -> str | None:
    if rule.endpoint in ROUTES:
        return url_of(ROUTES[rule.endpoint], ids)
    values = {}
    for name in rule.arguments:
        key = _GUESSES.get(name, name)
        values[name] = ids.get(key, "csv" if name == "kind" else "1")
    try:
        return rule.build(values, append_unknown=False)[1]
    except (ValueError, KeyError, TypeError):
        return None


def actor_for(endpoint: str, method: str) -> str:
    route = ROUTES.get(endpoint)
    allowed = (route.get if method == "GET" else route.post) if route else frozenset({"admin"})
    return next((a for a in ACTORS if a in allowed), "admin")


def route_targets(url_map: Map, ids: dict) -> tuple[list, dict[tuple[str, str, str], Target]]:
    """Every rule of the map, and a target per (endpoint, method, walker) at its sample URL."""
    rules = [r for r in url_map.iter_rules() if r.endpoint not in SKIPPED]
    targets: dict[tuple[str, str, str], Target] = {}
    for rule in rules:
        url = sample_url(rule, ids)
        if url is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            actor = actor_for(rule.endpoint, method)
            key = (rule.endpoint, method, actor)
            if key not in targets:
                target = Target(rule.endpoint, method, url.split("?")[0], actor)
                for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
                    if method == "GET":
                        target.add(name, value)
                route = ROUTES.get(rule.endpoint)
                if method == "POST" and route:
                    for name, value in route.data.items():
                        target.add(name, value.format(**ids) if isinstance(value, str) else value)
                targets[key] = target
    return rules, targets


def match(adapter, url: str, method: str) -> str | None:
    parts = urlsplit(url)
    try:
        endpoint, _args = adapter.match(parts.path, method=method)
    except HTTPException:
        return None
    except Exception:  # a redirect for a trailing slash, and the like
        return None
    return endpoint if endpoint not in SKIPPED else None
