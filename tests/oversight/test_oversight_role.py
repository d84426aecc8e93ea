"""Oversight users (regulator, PCC) read dashboards and bundles; every biometric image and every write is a 403."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.audit.models import Event
from apps.matching.models import Alert
from apps.watchlists.models import CustodyImage

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

WRITE_METHODS = ("post", "put", "patch", "delete")


def test_oversight_reads_every_dashboard(actors, ledgered, client):
    client.force_login(actors.oversight)
    for name, args in [
        ("oversight:dashboard", []),
        ("oversight:deployment", [ledgered.pk]),
        ("oversight:retention", []),
        ("oversight:governance", []),
        ("oversight:equality", []),
        ("oversight:access", []),
        ("oversight:verifier", []),
        ("oversight:verifier-notes", []),
        ("oversight:deployment-bundle", [ledgered.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 200, name
    page = client.get(reverse("oversight:dashboard")).content.decode()
    assert "notifications" not in page.lower() or 'id="notifications"' not in page  # privacy officers' own queue
    assert "<img" not in page


def test_oversight_gets_403_on_every_biometric_image(actors, ledgered, client, api):
    alert = Alert.objects.get(pk=ledgered.alert_id)
    image = CustodyImage.objects.first()
    client.force_login(actors.oversight)
    reason = {"reason": "Regulator inspection 2026"}
    for url in [
        reverse("matching:alert-image", args=[alert.pk, "probe"]),
        reverse("matching:alert-image", args=[alert.pk, "watchlist"]),
        reverse("watchlists:image", args=[image.pk]),
    ]:
        assert client.get(url, reason).status_code == 403, url
    for url in [f"/api/watchlists/images/{image.pk}/content/", f"/api/matching/alerts/{alert.pk}/"]:
        assert api(actors.oversight).get(url, reason).status_code == 403, url
    assert not Event.objects.filter(action="record.consulted", actor=actors.oversight).exists()


def _api_operations():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in WRITE_METHODS:
                yield path, method


def _page_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith(("api/", "admin/")):
                continue
            yield from _page_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _fill(path: str, pk: int) -> str:
    path = re.sub(r"\{[^}]*\}", str(pk), path)  # OpenAPI {id}
    path = re.sub(r"<int:[^>]+>", str(pk), path)
    # A slug is a button's name: use a real one, so the view reaches its permission check.
    act = "authorise" if path.startswith("deployments") else "countersign" if "governance" in path else "act"
    return re.sub(r"<(?:str|slug):[^>]+>", act, path)


def test_oversight_gets_403_on_every_write(actors, ledgered, api, client):
    client.force_login(actors.oversight)  # signing in is itself logged: before the count
    before = Event.objects.count()
    refused, allowed = [], []
    for path, method in _api_operations():
        if path.startswith(("/api/matching/capture", "/api/matching/agent/", "/api/accounts/token")):
            continue  # camera credentials (capture and capture agents) and sign-in, not a user's write
        url = _fill(path, ledgered.pk)
        status = getattr(api(actors.oversight), method)(url, {}, format="json").status_code
        (refused if status == 403 else allowed).append((method, url, status))
    for pattern in _page_patterns():
        if pattern.startswith(("accounts/log", "public/", "healthz")) or "verify_bundle" in pattern:
            continue
        if pattern.startswith("audit/consult"):
            continue  # the reason form of any page: it keeps a reason in the session and writes nothing
        if pattern.startswith("search/"):
            continue  # the site search POSTs so a name never travels in an address: a read, logged as one
        url = "/" + _fill(pattern, ledgered.pk).lstrip("^").rstrip("$")
        status = client.post(url, {}).status_code
        if status != 405:  # a page that takes no POST has nothing to write
            (refused if status == 403 else allowed).append(("post", url, status))
    assert not allowed, "\n".join(map(str, allowed))
    assert len(refused) > 40
    assert Event.objects.count() == before
