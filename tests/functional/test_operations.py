"""Day one on a fresh server and eyes on it (issue 17): create-user and seed-reference on
an empty database, /siap, request ids in headers, logs and the error page."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import User
from storefront.catalogue.models import Category
from storefront.extensions import db
from storefront.observability import worker_seen
from storefront.reference import Region
from tests.conftest import TEST_PASSWORD, AuthActions


def test_create_user_makes_the_first_office_account_and_is_safe_to_run_again(app, client):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-user", "Dinas@Tangerangkota.go.id", "--role", "admin",
                               "--name", "Bu Kepala Dinas"],
                         input="password\npassword\n" + f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n")
    assert weak.exit_code == 0, weak.output
    assert "terlalu umum" in weak.output and "Akun dibuat" in weak.output
    user = db.session.scalar(select(User).where(User.email == "dinas@tangerangkota.go.id"))
    assert user.role_names == {"admin", "shopper"} and user.name == "Bu Kepala Dinas"
    AuthActions(client).login("dinas@tangerangkota.go.id")
    assert client.get("/admin/verifikasi").status_code == 200
    again = runner.invoke(args=["create-user", "dinas@tangerangkota.go.id", "--role", "observer"])
    assert again.exit_code == 0 and "Akun sudah ada" in again.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert {"admin", "observer"} <= db.session.get(User, user.id).role_names


def test_create_user_with_a_link_prints_a_one_time_address_to_choose_the_password(app, client):
    answer = app.test_cli_runner().invoke(args=[
        "create-user", "organizer@contoh.id", "--role", "organizer", "--link",
        "--base-url", "https://gerai.tangerangkota.go.id"])
    assert answer.exit_code == 0, answer.output
    address = re.search(r"https://gerai\.tangerangkota\.go\.id(/\S+)", answer.output).group(1)
    assert client.get(address).status_code == 200


def test_seed_reference_loads_the_city_and_categories_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-reference"])
    assert first.exit_code == 0, first.output
    assert "13 kecamatan, 104 kelurahan (117 baru)" in first.output
    categories = db.session.scalar(select(func.count(Category.id)))
    second = runner.invoke(args=["seed-reference"])
    assert "(0 baru)" in second.output
    assert db.session.scalar(select(func.count(Category.id))) == categories > 10
    assert db.session.scalar(select(func.count(Region.code))) == 117
    ketapang = db.session.get(Region, "36.71.05.1007")
    assert (ketapang.name, ketapang.parent_code) == ("Ketapang", "36.71.05")
    assert db.session.get(Region, "36.71.05").name == "Cipondoh"


def test_a_fresh_install_with_only_those_two_serves_the_office_and_the_catalogue(app, client):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-reference"])
    runner.invoke(args=["create-user", "admin@contoh.id"], input=f"{TEST_PASSWORD}\n" * 2)
    for path in ("/", "/katalog", "/toko"):
        assert client.get(path).status_code == 200, path
    AuthActions(client).login("admin@contoh.id")
    for path in ("/admin/verifikasi", "/admin/kategori", "/laporan", "/pameran"):
        assert client.get(path).status_code == 200, path
    assert "Keripik" in client.get("/admin/kategori").get_data(as_text=True)


def test_ready_says_what_is_missing_until_the_worker_has_been_seen(app, client):
    waiting = client.get("/siap")
    assert waiting.status_code == 503
    assert waiting.json["checks"]["database"] == "ok"
    assert waiting.json["checks"]["search"] == "ok"
    assert waiting.json["checks"]["worker"].startswith("gagal")
    worker_seen()
    ready = client.get("/siap")
    assert ready.status_code == 200 and ready.json["status"] == "ok", ready.json
    assert ready.headers["Cache-Control"] == "no-store"


def test_every_answer_carries_a_request_id_and_a_proxy_may_give_it(app, client):
    first, second = client.get("/sehat"), client.get("/sehat")
    assert re.fullmatch(r"[0-9a-f]{16}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    # Without a trusted proxy, a client cannot choose the id written in the logs.
    assert client.get("/sehat", headers={"X-Request-ID": "dipilih-klien-123"}) \
        .headers["X-Request-ID"] != "dipilih-klien-123"


@pytest.fixture
def failing_app(app_config):
    from storefront import create_app

    root = logging.getLogger()
    kept = list(root.handlers), root.level  # JSON logging takes over the root logger
    app = create_app({**app_config, "TRUSTED_PROXIES": 1, "LOG_FORMAT": "json",
                      "PROPAGATE_EXCEPTIONS": False, "TESTING": False})

    @app.get("/_rusak")
    def broken():
        logging.getLogger("storefront.uji").warning("sebelum gagal")
        raise RuntimeError("sengaja")

    yield app
    root.handlers, root.level = kept


def test_a_server_error_shows_its_request_id_which_is_in_the_json_log(failing_app):
    written = io.StringIO()
    failing_app.extensions["gerai.log_handler"].setStream(written)
    with failing_app.app_context():
        answer = failing_app.test_client().get("/_rusak",
                                               headers={"X-Request-ID": "proxy-req-0001"})
        db.engine.dispose()
    assert answer.status_code == 500
    assert answer.headers["X-Request-ID"] == "proxy-req-0001"
    assert "Kode kejadian: proxy-req-0001" in answer.get_data(as_text=True)
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    ours = [line for line in lines if line["request_id"] == "proxy-req-0001"]
    assert any(line["message"] == "sebelum gagal" for line in ours)
    assert any("RuntimeError: sengaja" in line.get("error", "") for line in ours)
    assert all(line["path"] == "/_rusak" for line in ours)


def test_metrics_show_latency_by_route_and_the_figures_operators_watch(app, client):
    client.get("/katalog")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'gerai_request_seconds_count{endpoint="catalogue.catalogue",method="GET"}' in text
    for name in ("gerai_outbox_pending", "gerai_outbox_lag_seconds", "gerai_holds_active",
                 "gerai_worker_seen_seconds_ago"):
        assert f"\n{name} " in text, name


def test_metrics_are_for_loopback_or_the_scrapers_token(app, client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    app.config["METRICS_TOKEN"] = "token-pemantau"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer salah"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer token-pemantau"}) \
        .status_code == 200


SENTRY_CHILD = """
import sys
import sentry_sdk
from storefront import create_app
from storefront.extensions import db

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[2], "SECRET_KEY": "x",
                  "SENTRY_DSN": sys.argv[1], "PROPAGATE_EXCEPTIONS": False,
                  "SEARCH_INDEX_PATH": "", "QRIS_GATEWAY": "", "XENDIT_SANDBOX_MOUNT": False})

@app.get("/_rusak_sentry")
def broken():
    raise RuntimeError("untuk sentry")

with app.app_context():
    answer = app.test_client().get("/_rusak_sentry")
    db.engine.dispose()
sentry_sdk.flush(5)
print(answer.status_code, answer.headers["X-Request-ID"])
"""


def test_an_error_reaches_sentry_with_its_request_id_when_a_dsn_is_set(tmp_path):
    """A Sentry-compatible receiver on loopback: the real SDK sends the real envelope. The
    app runs in a child process: the SDK patches Flask for the whole process."""
    import gzip
    import subprocess
    import sys
    import threading

    from werkzeug.wrappers import Request, Response

    from tests.helpers import Served

    received, arrived = [], threading.Event()

    def receiver(environ, start_response):
        body = Request(environ).get_data()
        if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
            body = gzip.decompress(body)
        received.append(body.decode("utf-8", "replace"))
        arrived.set()
        return Response("{}", mimetype="application/json")(environ, start_response)

    served = Served(receiver)
    port = served.url.rsplit(":", 1)[1]
    try:
        child = subprocess.run(
            [sys.executable, "-c", SENTRY_CHILD, f"http://kunci@127.0.0.1:{port}/1",
             f"sqlite:///{tmp_path / 'sentry.db'}"],
            capture_output=True, text=True, timeout=60,
            cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
        assert arrived.wait(5), f"nothing reached the Sentry receiver: {child.stderr[-2000:]}"
    finally:
        served.close()
    status, request_id = child.stdout.split()[-2:]
    assert status == "500"
    report = "\n".join(received)
    assert "untuk sentry" in report and request_id in report
