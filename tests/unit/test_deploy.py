"""deploy/, checked by what runs here without Docker or a network.

The Procfile, the Dockerfile, compose.yaml and the systemd units name the same commands;
gunicorn.conf.py loads into gunicorn's own settings and picks gthread; compose.yaml holds
the services of the layout; nginx.conf agrees with the app on the body limit and the
pictures' cache life; .env.example lists exactly what storefront/config.py reads.

compose.yaml is checked with plain text (no YAML parser is installed in the test
environment): its lists are written in JSON flow style so they can be read as JSON here.
Building the image and starting the compose file are not done here (README, "Production").
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.util import import_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
WEB = ["gunicorn", "-c", "deploy/gunicorn.conf.py", "storefront:create_app()"]
WORKER = ["flask", "--app", "storefront", "worker"]
ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")


def read(name: str) -> str:
    return (DEPLOY / name).read_text(encoding="utf-8")


def procfile(name: str) -> dict[str, list[str]]:
    """process name -> its command as argv; leading VAR=value assignments kept in front."""
    processes = {}
    for line in read(name).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        process, _, command = line.partition(":")
        assert re.fullmatch(r"[a-z][a-z0-9_]*", process), line
        processes[process] = shlex.split(command)
    return processes


def without_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    env = {}
    while argv and ASSIGNMENT.match(argv[0]):
        name, _, value = argv[0].partition("=")
        env[name] = value
        argv = argv[1:]
    return env, argv


def compose_services() -> dict[str, str]:
    """service name -> the text of its block in compose.yaml."""
    text = read("compose.yaml")
    body = text.split("\nservices:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    parts = re.split(r"^  ([a-z][a-z0-9_-]*):\n", body, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def json_field(block: str, field: str):
    match = re.search(rf"^\s+{field}: (\[.*\])\s*$", block, flags=re.M)
    assert match, f"no {field}: [...] in\n{block}"
    return json.loads(match.group(1))


def dockerfile_stages() -> dict[str, str]:
    parts = re.split(r"^FROM \S+ AS ([a-z]+)\n", read("Dockerfile"), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_procfile_names_the_production_processes():
    assert procfile("Procfile") == {"web": WEB, "worker": WORKER}


def test_the_image_runs_the_procfiles_web_and_compose_the_procfiles_worker():
    stages = dockerfile_stages()
    assert list(stages)[-1] == "runtime", "the runtime stage must be the default (last) target"
    runtime = stages["runtime"]
    cmd = re.search(r"^CMD (\[.*\])$", runtime, flags=re.M)
    assert cmd and json.loads(cmd.group(1)) == procfile("Procfile")["web"]
    services = compose_services()
    assert "command:" not in services["web"], "web runs the image's CMD, the Procfile's web"
    assert json_field(services["worker"], "command") == procfile("Procfile")["worker"]
    migrate = json_field(services["migrate"], "command")
    assert migrate[:2] == ["sh", "-c"]
    assert migrate[2] == "flask --app storefront db upgrade && flask --app storefront search-setup"


def test_the_image_runs_as_a_user_from_built_stages_and_checks_it_is_alive():
    stages = dockerfile_stages()
    assert {"assets", "build", "nginx", "runtime"} <= set(stages)
    runtime = stages["runtime"]
    assert re.search(r"^USER gerai$", runtime, flags=re.M)
    assert runtime.index("USER gerai") < runtime.index("\nCMD ")
    assert "COPY --from=build /opt/gerai /opt/gerai" in runtime
    assert "COPY --from=assets /src/static/vendor static/vendor" in runtime
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", runtime, flags=re.M | re.S)
    assert healthcheck and "http://127.0.0.1:8000/sehat" in healthcheck.group(1)
    assert "npm ci" in stages["assets"] and "htmx.org/dist/htmx.min.js" in stages["assets"]
    assert "pip wheel" in stages["build"]
    # Never a vendored copy or local state from the working tree.
    ignored = read("Dockerfile.dockerignore").split()
    assert {"static/vendor", "instance", ".venv", ".git", ".env"} <= set(ignored)


def test_systemd_units_run_the_procfiles_commands():
    units = {"gerai-web.service": "web", "gerai-worker.service": "worker"}
    for unit, process in units.items():
        text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
        exec_start = re.search(r"^ExecStart=(.*)$", text, flags=re.M).group(1)
        argv = shlex.split(exec_start)
        assert argv[0] == f"/srv/gerai/.venv/bin/{argv[0].rsplit('/', 1)[-1]}"
        assert [argv[0].rsplit("/", 1)[-1], *argv[1:]] == procfile("Procfile")[process], unit
    assert (DEPLOY / "systemd" / "gerai-backup.timer").exists()


def test_procfile_dev_runs_the_sandboxes_where_web_and_worker_look_for_them():
    processes = procfile("Procfile.dev")
    assert set(processes) == {"web", "worker", "stripe_sandbox", "xendit_sandbox"}
    web_env, web = without_env(processes["web"])
    worker_env, worker = without_env(processes["worker"])
    assert web_env == worker_env, "the worker reconciles against the same gateways"
    assert web[:3] == WEB[:3] and web[-1] == WEB[-1]
    assert worker == WORKER
    assert web_env["SANDBOX_MOUNT"] == web_env["XENDIT_SANDBOX_MOUNT"] == "0"
    port = {"stripe_sandbox": web_env["SANDBOX_GATEWAY_URL"].rsplit(":", 1)[1],
            "xendit_sandbox": web_env["XENDIT_API_URL"].rsplit(":", 1)[1]}
    for name in ("stripe_sandbox", "xendit_sandbox"):
        argv = processes[name]
        assert argv[argv.index("--bind") + 1] == f"127.0.0.1:{port[name]}"
        # The app spec resolves to a WSGI app, as gunicorn itself would read it.
        app = import_app(argv[-1])
        assert callable(app)


def gunicorn_settings(monkeypatch, metrics_dir: Path, **env) -> tuple[dict, Config]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_WORKERS", "GUNICORN_BIND",
                 "PAYMENT_GATEWAY_TIMEOUT", "PAYMENT_GATEWAY_RETRIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    # The config file sets it in os.environ: through monkeypatch, so it is undone after.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    config = Config()
    # What gunicorn does with a config file: every known setting, validated by its type.
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name.lower(), value)
    return namespace, config


def test_gunicorn_config_uses_threads_sized_from_the_cores(monkeypatch, tmp_path):
    namespace, config = gunicorn_settings(monkeypatch, tmp_path)
    assert config.worker_class_str == "gthread"
    assert config.threads == 4
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert config.workers == max(2, min(2 * cores + 1, 8))
    assert config.bind == ["127.0.0.1:8000"]
    assert config.accesslog == "-"
    assert "127.0.0.1" in config.forwarded_allow_ips
    # Room for a gateway call with its retries before gunicorn gives up on a worker,
    # and for requests in flight when it restarts.
    assert config.timeout >= 3 * 10 and config.graceful_timeout >= 3 * 10
    assert config.preload_app is False

    _, config = gunicorn_settings(monkeypatch, tmp_path, WEB_CONCURRENCY="3",
                                  GUNICORN_BIND="0.0.0.0:8000", PAYMENT_GATEWAY_TIMEOUT="20",
                                  FORWARDED_ALLOW_IPS="*")
    assert config.workers == 3 and config.bind == ["0.0.0.0:8000"]
    assert config.timeout >= 3 * 20
    assert config.forwarded_allow_ips == ["*"]


def test_gunicorn_config_keeps_prometheus_figures_across_worker_processes(monkeypatch, tmp_path):
    """storefront/observability.py reads PROMETHEUS_MULTIPROC_DIR: emptied at start."""
    (tmp_path / "histogram_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    _, config = gunicorn_settings(monkeypatch, tmp_path)
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    config.on_starting(None)
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]
    config.child_exit(None, type("Worker", (), {"pid": 123})())


def test_compose_holds_the_layout():
    services = compose_services()
    assert set(services) == {"migrate", "web", "worker", "nginx", "db", "redis", "meilisearch"}
    assert re.search(r"^\s+image: getmeili/meilisearch:v1\.\d+\.\d+$", services["meilisearch"], re.M)
    assert re.search(r"^\s+image: redis:7", services["redis"], re.M)
    assert re.search(r"^FROM postgres:15", read("postgres/Dockerfile"), re.M)
    assert "archive_command=pgbackrest --stanza=gerai archive-push %p" in services["db"]
    text = read("compose.yaml")
    # web, worker and migrate share the x-gerai block: the image, .env, the proxy setting.
    shared = text.split("\nx-gerai: &gerai\n", 1)[1].split("\nservices:\n", 1)[0]
    assert 'TRUSTED_PROXIES: "1"' in shared and "env_file: .env" in shared
    assert "target: runtime" in shared
    for name in ("migrate", "web", "worker"):
        assert "<<: *gerai" in services[name], name
    assert "/siap" in json_field(services["web"], "test")[-1]
    assert "condition: service_completed_successfully" in services["web"]
    assert "condition: service_completed_successfully" in services["worker"]
    assert "disable: true" in services["worker"], "the image's HTTP check does not fit the worker"
    assert "target: nginx" in services["nginx"]
    published = re.findall(r'^\s+- "(\d+):\d+"$', text, flags=re.M)
    assert sorted(published) == ["443", "80"], "only nginx is reachable from outside"


def test_nginx_agrees_with_the_app(monkeypatch):
    from storefront import config as settings

    monkeypatch.setenv("SECRET_KEY", "test")
    monkeypatch.delenv("MAX_CONTENT_LENGTH", raising=False)
    nginx = read("nginx.conf")
    size = re.search(r"^\s*client_max_body_size (\d+)m;", nginx, flags=re.M)
    assert size and int(size.group(1)) * 1024 * 1024 == settings.from_environment()["MAX_CONTENT_LENGTH"]
    # Pictures: served from where the image and compose keep MEDIA_ROOT, cached as the app does.
    media_py = (ROOT / "storefront" / "media.py").read_text(encoding="utf-8")
    cache = re.search(r'"Cache-Control"\] = "([^"]+)"', media_py).group(1)
    media = nginx.split("location /media/ {", 1)[1].split("\n        }\n", 1)[0]
    assert f'add_header Cache-Control "{cache}"' in media
    assert "root /var/lib/gerai;" in media
    assert "MEDIA_ROOT=/var/lib/gerai/media" in dockerfile_stages()["runtime"]
    assert "media:/var/lib/gerai/media:ro" in compose_services()["nginx"]
    assert "server web:8000;" in nginx and "proxy_set_header X-Request-ID $request_id;" in nginx
    assert "gzip on;" in nginx and "ssl_certificate " in nginx


def env_names(text: str) -> set[str]:
    return {match.group(1) for match in re.finditer(r"^#?([A-Z][A-Z0-9_]*)=", text, flags=re.M)}


def test_env_example_lists_exactly_what_the_configuration_reads():
    config_py = (ROOT / "storefront" / "config.py").read_text(encoding="utf-8")
    read_by_config = set(re.findall(
        r'(?:environ\.get|environ\[|_bool)\(?\s*"([A-Z][A-Z0-9_]*)"', config_py))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MEILI_URL"} <= read_by_config
    read_by_deploy = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", read("compose.yaml"))) \
        | set(re.findall(r'"([A-Z][A-Z0-9_]*)"', read("gunicorn.conf.py")))
    listed = env_names(read(".env.example"))
    missing = read_by_config - listed
    assert not missing, f"add to deploy/.env.example (commented if optional): {sorted(missing)}"
    unknown = listed - read_by_config - read_by_deploy
    assert not unknown, f"deploy/.env.example names what nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize("secret", ["SECRET_KEY", "MEILI_MASTER_KEY", "POSTGRES_PASSWORD",
                                    "XENDIT_CALLBACK_TOKEN", "MAIL_PASSWORD"])
def test_env_example_holds_no_real_secret(secret):
    value = re.search(rf"^{secret}=(.*)$", read(".env.example"), flags=re.M).group(1)
    assert "change-me" in value
