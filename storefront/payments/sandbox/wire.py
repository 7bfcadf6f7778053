"""The wire format of the Stripe API, as the official SDK speaks it.

Requests are form-encoded with bracket notation (``metadata[reference]=...``,
``line_items[0][price_data][unit_amount]=...``); answers are JSON objects, and
errors are ``{"error": {"type", "code", "message", "param"}}`` with an HTTP status
the SDK turns into its typed exceptions (400/404 invalid request, 401
authentication, 402 card, 409 conflict, 429 rate limit, 5xx API error).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
_ALPHABET = string.ascii_letters + string.digits


class ApiError(Exception):
    """A Stripe-shaped error answer."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "code": code, "message": message, "param": param,
                               **(extra or {})}}


def missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", code="parameter_missing",
                    param=param)


def invalid(param: str, message: str, code: str = "parameter_invalid") -> ApiError:
    return ApiError(400, message, code=code, param=param)


def no_such(kind: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict:
    """``[("a[b][0]", "1")]`` -> ``{"a": {"b": ["1"]}}``; values stay strings, as on the wire."""
    root: dict = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise invalid(raw_key, f"Invalid parameter name: {raw_key}")
        path = [match.group(1), *_PART.findall(match.group(2))]
        node = root
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if part == "":  # "expand[]": append
                part = str(sum(1 for k in node if k.isdigit()))
            if last:
                if isinstance(node.get(part), dict):
                    raise invalid(raw_key, f"Invalid value for {raw_key}: expected an object")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid(raw_key, f"Invalid value for {raw_key}: not an object")
                node = child
    return _lists(root, "")


def _lists(node, name: str):
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value, f"{name}[{key}]" if name else key)
                 for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        indexes = sorted(int(key) for key in converted)
        if indexes != list(range(len(indexes))):
            raise invalid(name, f"Invalid array: {name} must be indexed from 0 without gaps")
        return [converted[str(i)] for i in indexes]
    return converted


def reject_unknown(params: dict, allowed: Iterable[str], prefix: str = "") -> None:
    allowed = set(allowed)
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise ApiError(400, f"Received unknown parameter: {name}", code="parameter_unknown",
                           param=name)


def integer(params: dict, name: str, *, required: bool = False, minimum: int | None = None,
            maximum: int | None = None, label: str | None = None) -> int | None:
    label = label or name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(label)
        return None
    if isinstance(value, (dict, list)) or not re.fullmatch(r"-?\d+", str(value)):
        raise invalid(label, f"Invalid integer: {value}", code="parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise invalid(label, f"Invalid {label}: must be at least {minimum}",
                      code="parameter_invalid_integer")
    if maximum is not None and number > maximum:
        raise invalid(label, f"Invalid {label}: must be at most {maximum}",
                      code="parameter_invalid_integer")
    return number


def text(params: dict, name: str, *, required: bool = False, max_length: int = 5000,
         choices: Iterable[str] | None = None, label: str | None = None) -> str | None:
    label = label or name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(label)
        return None
    if not isinstance(value, str):
        raise invalid(label, f"Invalid string: {label} must be a string")
    if len(value) > max_length:
        raise invalid(label, f"Invalid string: {label} must be at most {max_length} characters")
    if choices is not None and value not in set(choices):
        raise invalid(label, f"Invalid {label}: must be one of {', '.join(choices)}")
    return value


def url(params: dict, name: str, *, required: bool = False, label: str | None = None) -> str | None:
    value = text(params, name, required=required, max_length=5000, label=label)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise invalid(label or name, "Not a valid URL", code="url_invalid")
    return value


def metadata(params: dict, name: str = "metadata", *, label: str | None = None) -> dict:
    label = label or name
    value = params.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid(label, "Invalid object: metadata must be a hash")
    if len(value) > 50:
        raise invalid(label, "Invalid metadata: at most 50 keys")
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise invalid(f"{label}[{key}]",
                          "Invalid metadata: keys up to 40 characters, values strings up to 500")
    return {key: item for key, item in value.items() if item != ""}


def string_list(params: dict, name: str) -> list[str]:
    value = params.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(name, f"Invalid array: {name}")
    return value
