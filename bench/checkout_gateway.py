"""How long a payment takes through the gateway adapter, the SDK and the sandbox.

    .venv/bin/python -m bench.checkout_gateway [--payments 300]

Serves the sandbox gateway in its own process (werkzeug, threaded, on loopback) and,
in this one, a webhook receiver; then, through StripeGateway and the official SDK:

1. create_payment (a Checkout Session), then retrieve_payment;
2. a press of "Bayar" on the hosted page until the signed checkout.session.completed
   webhook is in and verified: what a stand keeper waits for before seeing "paid";
3. parse_webhook alone (signature check and mapping).

Prints figures in milliseconds; timings depend on the machine, so nothing is asserted.
The sandbox is a Python test double: these figures measure Gerai's side of the
path (adapter, SDK, HTTP), not Stripe's.
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._loadgen import percentiles  # noqa: E402
from storefront.payments.stripe_gateway import StripeGateway  # noqa: E402

SECRET = "whsec_bench"
KEY = "sk_test_bench"  # the one key the sandbox answers
SERVE = """
import sys
from werkzeug.serving import WSGIRequestHandler, make_server
from storefront.payments.sandbox import create_sandbox_app

class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass

app = create_sandbox_app(webhook_url=sys.argv[2], webhook_secret=sys.argv[3], secret_key=sys.argv[4])
make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True,
            request_handler=Quiet).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """Keeps each webhook's arrival time by session id."""

    def __init__(self):
        self.arrived: dict[str, tuple[float, bytes, dict]] = {}
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        body = request.get_data()
        match = re.search(rb'"id": "(cs_test_\w+)"', body)
        with self.changed:
            if match:
                self.arrived[match.group(1).decode()] = (time.perf_counter(), body,
                                                         dict(request.headers))
            self.changed.notify_all()
        return Response("ok")(environ, start_response)

    def wait(self, session_id: str, timeout: float = 10.0):
        with self.changed:
            if not self.changed.wait_for(lambda: session_id in self.arrived, timeout):
                raise RuntimeError(f"no webhook for {session_id} within {timeout}s")
            return self.arrived[session_id]


def press_pay(page_url: str) -> None:
    parts = urlsplit(page_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path)
        html = connection.getresponse().read().decode()
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        connection.request("POST", parts.path, body=urlencode({"token": token, "choice": "pay"}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        if response.status != 303:
            raise RuntimeError(f"pay answered {response.status}")
    finally:
        connection.close()


def ms(seconds: list[float]) -> str:
    cuts = percentiles([s * 1000 for s in seconds])
    return "  ".join(f"{name} {value:7.2f}" for name, value in cuts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=300)
    args = parser.parse_args()

    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *a, **k):
            pass

    receiver = Receiver()
    hook_server = make_server("127.0.0.1", 0, receiver, threaded=True, request_handler=Quiet)
    threading.Thread(target=hook_server.serve_forever, daemon=True).start()
    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port),
         f"http://127.0.0.1:{hook_server.server_port}/webhook", SECRET, KEY], cwd=ROOT)
    gateway = StripeGateway(KEY, f"http://127.0.0.1:{port}", SECRET, timeout=10,
                            max_network_retries=0)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or sandbox.poll() is not None:
                    raise RuntimeError("the sandbox did not start")
                time.sleep(0.05)
        creates, retrieves, paid_after, parses = [], [], [], []
        bodies = []
        for number in range(args.payments):
            started = time.perf_counter()
            payment = gateway.create_payment(
                amount=15_000 + number, reference=f"GR-BENCH-{number}",
                description="Kopi robusta Cisadane", success_url="http://gerai.test/ok",
                cancel_url="http://gerai.test/batal", idempotency_key=f"bench-{number}")
            creates.append(time.perf_counter() - started)
            started = time.perf_counter()
            gateway.retrieve_payment(payment.id)
            retrieves.append(time.perf_counter() - started)
            started = time.perf_counter()
            press_pay(payment.url)
            arrived, body, headers = receiver.wait(payment.id)
            event = gateway.parse_webhook(body, headers)
            paid_after.append(time.perf_counter() - started)
            assert event.payment.status == "paid"
            bodies.append((body, headers))
        for body, headers in bodies:
            started = time.perf_counter()
            gateway.parse_webhook(body, headers)
            parses.append(time.perf_counter() - started)
    finally:
        gateway.close()
        sandbox.terminate()
        sandbox.wait(10)
        hook_server.shutdown()
        hook_server.server_close()

    print(f"payments                  {args.payments} (sequential, one connection pool)")
    print(f"create_payment     ms     {ms(creates)}")
    print(f"retrieve_payment   ms     {ms(retrieves)}")
    print(f"Bayar -> webhook   ms     {ms(paid_after)}  (hosted page POST to verified event)")
    print(f"parse_webhook      ms     {ms(parses)}")


if __name__ == "__main__":
    main()
