"""Browser protections: the Content Security Policy, CSRF on every form, cookie flags and password hashing.

Each test names the property it guards and fails when it breaks.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.security.routes import page_routes

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_DIRS = [*sorted((ROOT / "apps").glob("*/templates")), ROOT / "govern" / "templates"]
TEMPLATES = sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def _assert_strict_policy(response, where):
    header = response.get("Content-Security-Policy")
    assert header, f"{where}: no Content-Security-Policy"
    policy = _directives(header)
    assert policy["script-src"] == ["'self'"], (where, header)
    assert policy["default-src"] == ["'self'"], (where, header)
    assert policy["frame-ancestors"] == ["'none'"], (where, header)
    assert policy["form-action"] == ["'self'"], (where, header)
    assert policy["img-src"] == ["'self'", "data:"], (where, header)
    return policy


def test_templates_were_found():
    assert len(TEMPLATES) >= 40


@pytest.mark.parametrize("role", ["anonymous", "admin", "privacy", "officer", "commander"])
def test_every_page_sends_a_policy_without_inline_scripts(actors, role):
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(getattr(actors, role))
    pages = page_routes()
    assert len(pages) >= 40
    for path in [*pages, "/admin/", "/no-such-page/", "/api/accounts/me/", "/api/schema/"]:
        response = client.get(path)
        policy = _assert_strict_policy(response, path)
        assert policy["style-src"] == ["'self'"], (path, policy)


def test_swagger_ui_runs_no_inline_script_and_only_its_page_allows_inline_styles(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = _assert_strict_policy(response, "/api/docs/")
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html), "Swagger UI page holds an inline script"
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_a_refused_or_oversized_request_still_carries_the_policy(client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    response = client.post("/api/accounts/token/", {"username": "x" * 4000}, content_type="application/json")
    assert response.status_code == 413
    _assert_strict_policy(response, "413")


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_holds_inline_script_handlers_or_styles(template):
    text = template.read_text()
    inline_scripts = [
        match.group(0)
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I)
        if "src=" not in match.group(1) or match.group(2).strip()
    ]
    assert not inline_scripts, inline_scripts
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text, re.I), "an on*= event handler attribute"
    assert not re.search(r"javascript:", text, re.I), "a javascript: URL"
    assert not re.search(r"<style\b", text, re.I), "a <style> block"
    assert not re.search(r"<[a-z][^>]*\sstyle\s*=", text, re.I), "a style= attribute"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_post_form_carries_the_csrf_token(template):
    text = template.read_text()
    for match in re.finditer(r"<form\b([^>]*)>(.*?)</form>", text, re.S | re.I):
        if re.search(r"method\s*=\s*[\"']?post", match.group(1), re.I):
            assert "{% csrf_token %}" in match.group(2), f"POST form without csrf_token: {match.group(0)[:200]}"


def test_a_post_form_template_exists_and_forms_are_found():
    posts = sum(len(re.findall(r"<form\b[^>]*method=\"post\"", path.read_text(), re.I)) for path in TEMPLATES)
    assert posts >= 15


def test_sign_in_without_the_csrf_token_is_refused(actors):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "officer", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", ["admin", "officer", "privacy", "commander", "compiler"])
def test_every_page_refuses_a_post_without_the_csrf_token(actors, role):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(getattr(actors, role))
    for path in page_routes():
        if path == "/healthz":
            continue
        response = client.post(path, {"reason": "no token"})
        assert response.status_code == 403, (path, response.status_code)
        assert b"CSRF" in response.content, path


def test_the_session_api_refuses_a_post_without_the_csrf_token(actors):
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.officer)
    response = client.post("/api/matching/searches/", {}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_post_with_the_csrf_token_is_accepted(actors):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    response = client.post(
        reverse("login"), {"username": "officer", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_session_and_csrf_cookies_are_http_only_same_site_and_secure_when_configured(actors, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "officer", "password": PASSWORD})
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["secure"] and session["samesite"] in ("Lax", "Strict")
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["secure"] and csrf["samesite"] in ("Lax", "Strict")


PRODUCTION_PROBE = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in [
    "PASSWORD_HASHERS", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "SECURE_PROXY_SSL_HEADER", "MIDDLEWARE",
]}))
"""


def _production_settings(**overrides) -> dict:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "COOKIE_", "DEBUG"))}
    environment = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "govern.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": "k" * 50,
        "ALLOWED_HOSTS": "govern.example",
        "DATABASE_URL": "postgresql://govern@db.example/govern",
        "AUDIT_SIGNING_KEY_FILE": "/keys/audit.pem",
        "IMAGE_ENCRYPTION_KEY_FILE": "/keys/image.key",
        "RECEIPT_KEY_FILE": "/keys/receipt.key",
        **overrides,
    }
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_protect_cookies_transport_and_passwords():
    production = _production_settings()
    assert production["PASSWORD_HASHERS"][0] in {
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    }
    assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    assert production["SESSION_COOKIE_HTTPONLY"] and production["CSRF_COOKIE_HTTPONLY"]
    assert production["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert production["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert production["SECURE_SSL_REDIRECT"] and production["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] and production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_PROXY_SSL_HEADER"] is None  # never trusted unless the operator says a proxy sets it
    assert production["MIDDLEWARE"][0] == "govern.middleware.ContentSecurityPolicyMiddleware"


def test_transport_settings_are_configurable_and_strictly_parsed():
    behind_proxy = _production_settings(SECURE_PROXY_SSL_HEADER="true", COOKIE_SAMESITE="Strict")
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert behind_proxy["SESSION_COOKIE_SAMESITE"] == "Strict"
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    bad = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "govern.settings.base", "DEBUG": "true", "COOKIE_SAMESITE": "None"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "COOKIE_SAMESITE" in bad.stderr


def test_development_settings_do_not_demand_tls():
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG", "SECURE_"))}
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "govern.settings.base", "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    development = json.loads(result.stdout.strip().splitlines()[-1])
    assert not development["SESSION_COOKIE_SECURE"] and not development["SECURE_SSL_REDIRECT"]
    assert development["SESSION_COOKIE_HTTPONLY"] and development["CSRF_COOKIE_HTTPONLY"]


def test_a_session_cookie_that_is_no_session_key_is_ignored_not_a_500(client, actors):
    from django.conf import settings

    for value in (
        "abcdefgh\x00ijklmnopqrstuvwxyz12345",
        "x" * 300,
    ):  # a NUL reaches PostgreSQL as text, which refuses it
        header = {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={value}"}
        assert client.get("/", **header).status_code == 302  # to the sign-in page, as with no session
        assert client.get("/api/deployments/deployments/", **header).status_code in (401, 403)
