"""Webhook delivery: Stripe-signed POSTs from background threads, with a few retries.

The signature is Stripe's scheme, written with hmac/hashlib (this package must not
import stripe): ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the endpoint's secret. Each attempt is signed afresh, as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque

log = logging.getLogger(__name__)


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event_body(event: dict) -> bytes:
    return json.dumps(event, indent=2, ensure_ascii=False).encode("utf-8")


class WebhookSender:
    """Sends each event to one endpoint; remembers every attempt for the test controls."""

    def __init__(self, url: str | None, secret: str, *, attempts: int = 3,
                 backoff: float = 0.5, timeout: float = 5.0):
        self.url = url
        self.secret = secret
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.enabled = True
        self.log: deque[dict] = deque(maxlen=1000)
        self._threads: set[threading.Thread] = set()
        self._threads_lock = threading.Lock()

    def will_deliver(self) -> bool:
        return bool(self.url) and self.enabled

    def send_in_background(self, event: dict) -> None:
        if not self.will_deliver():
            self.log.append({"event": event["id"], "attempt": 0, "status": None,
                             "error": "webhooks off" if self.url else "no webhook_url"})
            return
        body = event_body(event)
        thread = threading.Thread(target=self._deliver, args=(event["id"], body),
                                  name=f"sandbox-webhook-{event['id']}", daemon=True)
        with self._threads_lock:
            self._threads.add(thread)
        thread.start()

    def send_now(self, event: dict) -> dict:
        """One attempt, in the caller's thread: the result says what the endpoint answered."""
        if not self.url:
            return {"event": event["id"], "attempt": 1, "status": None, "error": "no webhook_url"}
        return self._attempt(event["id"], event_body(event), 1)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait for deliveries in flight; True when none is left."""
        deadline = time.monotonic() + timeout
        while True:
            with self._threads_lock:
                threads = list(self._threads)
            if not threads:
                return True
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                with self._threads_lock:
                    return not any(t.is_alive() for t in self._threads)

    def _deliver(self, event_id: str, body: bytes) -> None:
        try:
            for attempt in range(1, self.attempts + 1):
                result = self._attempt(event_id, body, attempt)
                if result["status"] is not None and 200 <= result["status"] < 300:
                    return
                if attempt < self.attempts:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
            log.warning("sandbox webhook %s not delivered to %s after %d attempts",
                        event_id, self.url, self.attempts)
        finally:
            with self._threads_lock:
                self._threads.discard(threading.current_thread())

    def _attempt(self, event_id: str, body: bytes, attempt: int) -> dict:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) gerai-sandbox",
            "Stripe-Signature": signature_header(body, self.secret),
        })
        result = {"event": event_id, "attempt": attempt, "status": None, "error": None}
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                result["status"] = response.status
        except urllib.error.HTTPError as error:  # the endpoint answered, but not with a 2xx
            with error:
                result["status"] = error.code
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
            # refused, timed out, reset, a garbled answer, a URL urllib cannot use
            result["error"] = f"{type(error).__name__}: {error}"
        self.log.append(result)
        return result
