"""Fixtures in the flaskr style: app, client, runner, auth; one suite, two databases.

Every database test runs on SQLite and again on the PostgreSQL server at
127.0.0.1:5432 (database ``test``); without a reachable PostgreSQL those runs
skip and say why. Each xdist worker gets its own PostgreSQL schema.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from storefront import create_app
from storefront.extensions import db

# The Meilisearch server fixtures (meili_server, own_meili_server).
pytest_plugins = ["tests.meili_server"]

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL",
                              "postgresql+psycopg://root@127.0.0.1:5432/test")
TEST_PASSWORD = "kopi-tubruk-cisadane"


def _postgres_reason() -> str | None:
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=2):
            return None
    except psycopg.OperationalError as error:
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({error.__class__.__name__}); " \
               "set TEST_POSTGRES_URL to run these tests on it"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory, worker_id):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'gerai.db'}"
        return
    if reason := _postgres_reason():
        pytest.skip(reason)
    # One schema per test process: parallel workers, and parallel runs, never collide.
    with postgres_schema(f"gerai_test_{worker_id}_{os.getpid()}") as url:
        yield url


@contextmanager
def postgres_schema(schema: str):
    """A fresh PostgreSQL schema for the block, dropped after it: yields its URL."""
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def _schema(database_url):
    app = create_app(_test_config(database_url, media_root="/nonexistent"))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return database_url


def _test_config(database_url: str, media_root) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_BACKEND": "embedded",
        "SEARCH_INDEX_PATH": "",  # in memory: every test starts with an empty index
        "MEDIA_ROOT": str(media_root),
        "RATELIMIT_ENABLED": False,
        # QRIS is opted into by the tests about it (tests/payments/test_xendit*.py and
        # the QRIS fair and checkout tests); the rest pay through the card sandbox.
        "QRIS_GATEWAY": "",
        # The worker's heartbeat file (no Redis here): one per test, beside its media.
        "WORKER_SEEN_FILE": str(Path(str(media_root)).parent / "worker.seen"),
        # A test that leaves TESTING (the outside walk) queues its tasks in its own file,
        # never in the checkout's instance folder that other test processes share.
        "TASK_QUEUE_PATH": str(Path(str(media_root)).parent / "tasks.sqlite3"),
        "POLL_VERSIONS_FILE": str(Path(str(media_root)).parent / "poll-versions"),
        "XENDIT_SANDBOX_MOUNT": False,
        # cheap hashes in tests; the production parameters have their own test
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
    }


@pytest.fixture
def app_config(_schema, tmp_path):
    return _test_config(_schema, tmp_path / "media")


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def task_consumer(app):
    """The app's tasks go on a real queue (in memory) taken by consumer threads, as in
    production, instead of running at once in the caller."""
    from storefront import tasks

    immediate = app.extensions["gerai.tasks"]
    tasks.install(app, "memory")
    consumer = tasks.start_embedded(app)
    yield consumer
    tasks.stop_embedded(app)
    app.extensions["gerai.tasks"] = immediate
    app.config["TASK_QUEUE"] = ""


def _empty_tables():
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


class IsolatedClient(FlaskClient):
    """Each request in its own app context, as in production.

    The ``app`` fixture keeps a context open for factories and assertions;
    without this, ``g`` (the logged-in user, the CSRF token) and the database
    session would leak from one request into the next and hide real bugs.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = TEST_PASSWORD):
        # Tests log in through the real form, CSRF and all.
        from tests.helpers import csrf_token

        token = csrf_token(self._client, "/masuk")
        return self._client.post("/masuk", data={"email": email, "password": password,
                                                 "csrf_token": token})

    def logout(self):
        from tests.helpers import csrf_token

        token = csrf_token(self._client, "/")
        return self._client.post("/keluar", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)
