"""Settings come from the environment through strict parsers that stop start-up on a bad value."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from govern import env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_boolean_refuses_anything_but_true_or_false(monkeypatch, value):
    monkeypatch.setenv("DEBUG", value)
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env.boolean("DEBUG", default=False)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("OFF", False), ("1", True), ("no", False)])
def test_boolean_accepts_plain_words(monkeypatch, value, expected):
    monkeypatch.setenv("DEBUG", value)
    assert env.boolean("DEBUG", default=not expected) is expected


@pytest.mark.parametrize("value", ["lots", "-0.5", "NaN", "Infinity"])
def test_a_decimal_setting_refuses_words_negatives_and_infinities(monkeypatch, value):
    monkeypatch.setenv("EVALUATION_MAX_FALSE_ALERTS_PER_1000", value)
    with pytest.raises(ImproperlyConfigured, match="EVALUATION_MAX_FALSE_ALERTS_PER_1000"):
        env.decimal("EVALUATION_MAX_FALSE_ALERTS_PER_1000", "1.0", minimum="0")


def test_a_decimal_setting_reads_a_number(monkeypatch):
    monkeypatch.setenv("EVALUATION_MAX_FALSE_ALERTS_PER_1000", " 0.25 ")
    assert str(env.decimal("EVALUATION_MAX_FALSE_ALERTS_PER_1000", "1.0", minimum="0")) == "0.25"


@pytest.mark.parametrize(
    "url", ["sqlite:///govern.db", "mysql://root@localhost/govern", "postgresql://localhost", "postgres://h:port/db"]
)
def test_database_url_refuses_other_engines_and_broken_urls(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.database_url("DATABASE_URL")


def test_database_url_parses_host_port_and_socket_directory(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://gov:s%40cret@db.internal:6543/govern?sslmode=require")
    parsed = env.database_url("DATABASE_URL")
    assert (parsed["USER"], parsed["PASSWORD"], parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (
        "gov", "s@cret", "db.internal", "6543", "govern",
    )  # fmt: skip
    assert parsed["OPTIONS"] == {"sslmode": "require"}
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@/govern?host=/run/pg")
    assert env.database_url("DATABASE_URL")["HOST"] == "/run/pg"


def test_broker_must_be_redis(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest@localhost//")
    with pytest.raises(ImproperlyConfigured, match="redis"):
        env.broker_url("CELERY_BROKER_URL")


def test_hosts_with_spaces_or_blanks_are_refused(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "govern.police.uk, ,localhost")
    with pytest.raises(ImproperlyConfigured):
        env.host_list("ALLOWED_HOSTS", [])


def test_relative_key_path_is_refused(monkeypatch):
    monkeypatch.setenv("AUDIT_SIGNING_KEY_FILE", "keys/audit.pem")
    with pytest.raises(ImproperlyConfigured, match="absolute"):
        env.path("AUDIT_SIGNING_KEY_FILE")


def test_secret_from_a_file_and_never_both(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env.string("SECRET_KEY") == "s" * 40
    monkeypatch.setenv("SECRET_KEY", "t" * 40)
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.string("SECRET_KEY")


def _start(**overrides):
    """Import the production settings in a fresh process with this environment."""
    ours = {
        "DJANGO_SETTINGS_MODULE",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "AUDIT_SIGNING_KEY_FILE",
        "AUDIT_LOG_ORIGIN",
        "DATABASE_URL",
        "IMAGE_ENCRYPTION_KEY_FILE",
        "RECEIPT_KEY_FILE",
    }
    environment = {k: v for k, v in os.environ.items() if k not in ours}
    environment.update({"DJANGO_SETTINGS_MODULE": "govern.settings.base"}, **overrides)
    code = "import django; django.setup(); print('started')"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "short"}, "at least 32"),
        ({"DEBUG": "false", "SECRET_KEY": "k" * 50}, "ALLOWED_HOSTS"),
        ({"DEBUG": "false", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "govern.example"}, "AUDIT_SIGNING_KEY_FILE"),
        (
            {
                "DEBUG": "false",
                "SECRET_KEY": "k" * 50,
                "ALLOWED_HOSTS": "govern.example",
                "AUDIT_SIGNING_KEY_FILE": "/k",
            },
            "IMAGE_ENCRYPTION_KEY_FILE",
        ),
        ({"DEBUG": "yes please"}, "DEBUG"),
        ({"DEBUG": "true", "DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
        ({"DEBUG": "true", "OPEN_SEARCH_RETENTION_DAYS": "400"}, "open_searches is outside its bounds"),
        ({"DEBUG": "true", "AUDIT_LOG_ORIGIN": "https://govern.example/audit"}, "AUDIT_LOG_ORIGIN"),
        ({"DEBUG": "true", "AUDIT_LOG_ORIGIN": "govern.example/audit+1"}, "AUDIT_LOG_ORIGIN"),
        ({"DEBUG": "true", "AUDIT_LOG_ORIGIN": "govern example"}, "AUDIT_LOG_ORIGIN"),
        ({"DEBUG": "true", "ALLOWED_HOSTS": "*"}, "AUDIT_LOG_ORIGIN must name the audit log"),
    ],
)
def test_production_settings_refuse_to_start_on_bad_values(overrides, message):
    result = _start(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def _gunicorn_config(monkeypatch, **environ) -> dict:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    namespace: dict = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    return namespace


def test_a_gunicorn_worker_takes_no_more_connections_than_it_has_threads(monkeypatch):
    """Otherwise whichever process wakes first takes frames that wait for its threads while the other idles."""
    config = _gunicorn_config(monkeypatch, WEB_WORKERS="3", WEB_THREADS="6")
    assert (config["workers"], config["threads"], config["worker_connections"]) == (3, 6, 6)
    assert config["worker_class"] == "gthread" and config["keepalive"] == 0
    with pytest.raises(ImproperlyConfigured, match="WEB_THREADS"):
        _gunicorn_config(monkeypatch, WEB_THREADS="0")


def test_a_gunicorn_worker_says_at_exit_how_its_engine_batched_and_how_busy_it_was(monkeypatch):
    from types import SimpleNamespace

    from apps.matching import engine

    config = _gunicorn_config(monkeypatch)
    logged = []
    server = SimpleNamespace(log=SimpleNamespace(warning=lambda text, *values: logged.append(text % values)))
    gate = engine._Gate(batch_size=4)
    monkeypatch.setattr(engine, "_engine", None)
    config["worker_exit"](server, SimpleNamespace(pid=7))
    assert logged == []  # no engine was loaded: nothing to say
    with gate.detection() as job:
        job.faces = ["a", "b"]
    gate.wait(job, lambda faces: np.zeros((len(faces), 512), dtype=np.float32))
    monkeypatch.setattr(engine, "_engine", SimpleNamespace(gate=gate))
    config["worker_exit"](server, SimpleNamespace(pid=7))
    assert len(logged) == 1 and "worker 7: 2 faces embedded in 1 forward passes (2.00 a pass)" in logged[0]
    assert gate.busy_seconds > 0 and "engine in use" in logged[0]


def _face_engine(**overrides) -> str:
    """The engine the settings choose in a fresh process, with the FACE_ variables as given and no others."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FACE_")}
    environment.update({"DJANGO_SETTINGS_MODULE": "govern.settings.base", "DEBUG": "true"}, **overrides)
    code = "from django.conf import settings; print(settings.FACE_ENGINE)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    return result.stdout.strip() or result.stderr


def test_the_face_engine_is_facenet_with_its_weights_and_dlib_without(tmp_path):
    assert _face_engine() == "dlib"
    assert _face_engine(FACE_WEIGHTS=str(tmp_path / "vggface2.pt")) == "facenet"
    assert _face_engine(FACE_ALLOW_DOWNLOAD="true") == "facenet"
    assert _face_engine(FACE_ENGINE="facenet") == "facenet"
    assert "FACE_ENGINE='tensorflow' is not one of" in _face_engine(FACE_ENGINE="tensorflow")
