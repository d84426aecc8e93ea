"""The OpenAPI contract, as an integrator who reads only the schema relies on it (issue 23, point 8).

For every operation of /api/schema/:

- a documented request body is the one the server reads: the body built from the schema alone (its required fields,
  each with a value of its documented type) is never refused for a field the schema does not ask for, nor for
  leaving out one it does not mark required; every body documents its fields; an operation documented with no body
  needs none;
- a list answers as documented: every list either documents `limit` and `offset` and honours them, or is one of the
  few documented as unpaged;
- every status code the server answers is one the operation documents, 503 included.

The body is sent as the first caller the role gate lets through (every role, then the camera for the capture paths),
each request in a savepoint rolled back, so every operation meets the same world.
"""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, transaction
from drf_spectacular.generators import SchemaGenerator
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.audit.models import Checkpoint, Event
from apps.matching.models import Capture
from apps.matching.services import live_capture, retrospective
from tests.reliability.test_schema_fuzz import PATH_OBJECTS

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# The lists documented as unpaged, each for its reason: the public record whole; one row per data class; every still
# of one search; every entry of one list; the equality figures, the purges and the deletion evidence (one row per kind
# of biometric), whole by design.
UNPAGED = {
    "/api/deployments/published/",
    "/api/oversight/retention/",
    "/api/oversight/purges/",
    "/api/oversight/deletion-evidence/",
    "/api/matching/searches/{id}/probes/",
    "/api/watchlists/watchlists/{id}/entries/",
}
OBJECTS = {
    **PATH_OBJECTS,
    "matching/captures": Capture,
    "audit/events": Event,
    "audit/checkpoints": Checkpoint,
    "accounts/tokens": ApiToken,
}
KEYS = {Event: "seq", Checkpoint: "tree_size"}
REQUIRED = "This field is required."


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(out, "JPEG")
    return out.getvalue()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rpartition("/")[2]]
    return node


def example(schema: dict, node: dict, name: str = ""):
    """A value of the documented type, from the schema alone (the first choice of an enum, a date now, ...)."""
    node = _resolve(schema, node)
    if "allOf" in node:
        return example(schema, node["allOf"][0], name)
    if "oneOf" in node or "anyOf" in node:
        return example(schema, (node.get("oneOf") or node["anyOf"])[0], name)
    if "enum" in node:
        return next(value for value in node["enum"] if value not in ("", None))
    kind, format_ = node.get("type"), node.get("format")
    if kind == "object" or "properties" in node:
        required = node.get("required", [])
        return {key: example(schema, node["properties"][key], key) for key in required}
    if kind == "array":
        return [example(schema, node.get("items", {}), name) for _ in range(max(1, node.get("minItems", 1)))]
    if kind == "integer":
        return max(node.get("minimum", 1), 1)
    if kind == "number":
        return node.get("minimum", 0) or 0.5
    if kind == "boolean":
        return True
    if format_ == "binary":
        return SimpleUploadedFile(f"{name or 'file'}.jpg", _jpeg(), content_type="image/jpeg")
    if format_ == "date-time":
        return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).isoformat()
    if format_ == "date":
        return (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    if node.get("pattern") == "^[0-9a-f]{64}$":
        return "0" * 64
    return "Contract test value, long enough for a reason field to take."[: node.get("maxLength", 60)]


@pytest.fixture
def world(ledgered, actors, approvers, vans, astronaut):
    """A live deployment with alerts and receipts, a search, and a caller of every role and a camera."""
    retrospective.submit(actors.officer, [astronaut], incident_reference="CAD-1", crime_type="Robbery")
    ApiToken.objects.all()  # tokens exist once a test issues one; the path object is looked up when needed
    callers = {
        "officer": actors.officer,
        "commander": approvers.superintendent,
        "compiler": actors.compiler,
        "privacy": actors.privacy,
        "oversight": actors.oversight,
        "retail": actors.retail,
        "admin": actors.admin,
    }
    camera = live_capture.issue_credential(approvers.superintendent, vans[0])
    return callers, camera


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_no_two_bodies_share_a_component_name(django_db_blocker, monkeypatch):
    # Two serializers under one name leave one of them documented as the other's body: the alert outcome was
    # documented as the deployment's figures so. drf-spectacular only warns, so the warning fails the test.
    from drf_spectacular import plumbing

    warned = []
    monkeypatch.setattr(plumbing, "warn", lambda message, *args, **kwargs: warned.append(message))
    with django_db_blocker.unblock():
        SchemaGenerator().get_schema(request=None, public=True)
    assert not [message for message in warned if "identical names" in message]


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _path(path: str) -> str | None:
    """The path with its parameter filled with a real object's key, or None when there is none to name."""
    match = re.match(r"^/api/([a-z-]+/[a-z-]+)/\{", path)
    if not match:
        return path
    model = OBJECTS.get(match.group(1))
    found = model.objects.order_by("pk").first() if model else None
    if found is None:
        return None
    return re.sub(r"\{[a-z_]+\}", str(getattr(found, KEYS.get(model, "pk"))), path, count=1)


def _send(method: str, url: str, body, media_type: str | None, user=None, camera: str | None = None):
    """One request in a savepoint rolled back: the world stays as it was for the next."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    headers = {"HTTP_AUTHORIZATION": f"Camera {camera}"} if camera else {}
    savepoint = transaction.savepoint()
    try:
        if body is None:
            return getattr(client, method)(url, **headers)
        if media_type == "multipart/form-data":
            return getattr(client, method)(url, body, format="multipart", **headers)
        if media_type and media_type.startswith("image/"):
            return getattr(client, method)(url, _jpeg(), content_type=media_type, **headers)
        return getattr(client, method)(url, body, format="json", **headers)
    finally:
        transaction.savepoint_rollback(savepoint)


def _answer(path, method, operation, world, body=None, media_type=None, query=""):
    """The answer of the first caller the role gate lets through (the last refusal when none is)."""
    callers, camera = world
    url = _path(path)
    if url is None:
        return None
    if query:
        url += "?" + query
    if path.startswith("/api/matching/capture/"):
        return _send(method, url, body, media_type, camera=camera)
    response = None
    for user in callers.values():
        response = _send(method, url, body, media_type, user=user)
        if response.status_code not in (401, 403, 404):
            return response
    return response


def _body(schema, operation) -> tuple[object, str | None]:
    """The body an integrator builds from the documentation: JSON when offered, else the first media type."""
    content = (operation.get("requestBody") or {}).get("content")
    if not content:
        return None, None
    media_type = "application/json" if "application/json" in content else next(iter(content))
    return example(schema, content[media_type]["schema"]), media_type


def test_a_body_built_from_the_schema_is_the_body_the_server_reads(schema, world):
    problems = []
    for path, method, operation in _operations(schema):
        if method not in ("post", "patch", "put", "delete"):
            continue
        body, media_type = _body(schema, operation)
        response = _answer(path, method, operation, world, {} if body is None else body, media_type)
        if response is None or response.status_code != 400:
            continue
        answer = response.json()
        documented = _resolve(schema, (operation.get("requestBody") or {}).get("content", {}).get(
            media_type or "application/json", {}).get("schema", {}))  # fmt: skip
        properties = set(documented.get("properties", {}))
        for field, errors in answer.items():
            errors = errors if isinstance(errors, list) else [errors]
            if field != "detail" and field not in properties and "If-Match" not in field:
                problems.append(f"{method.upper()} {path}: refused for {field!r}, which the schema does not document")
            elif any(REQUIRED in str(error) for error in errors) and field not in documented.get("required", []):
                problems.append(f"{method.upper()} {path}: requires {field!r}, which the schema does not mark required")
    assert not problems, "\n".join(problems)


def test_every_body_is_typed(schema):
    # A free-form object tells an integrator nothing: the search and crops bodies were documented so.
    problems = []
    for path, method, operation in _operations(schema):
        for media_type, content in (operation.get("requestBody") or {}).get("content", {}).items():
            body = _resolve(schema, content["schema"])
            if body.get("format") != "binary" and not body.get("properties"):
                problems.append(f"{method.upper()} {path} ({media_type}): the body has no documented fields")
    assert not problems, "\n".join(problems)


def test_an_operation_documented_without_a_body_needs_none(schema, world):
    # The close reason was read from a body the schema did not document: sent none, the server said it was blank.
    problems = []
    for path, method, operation in _operations(schema):
        if method not in ("post", "patch", "put", "delete") or operation.get("requestBody"):
            continue
        response = _answer(path, method, operation, world, {}, "application/json")
        if response is not None and response.status_code == 400:
            said = str(response.json())
            if any(word in said for word in ("required", "blank", "may not be null")):
                problems.append(f"{method.upper()} {path}: documents no body, yet asked for one: {said[:120]}")
    assert not problems, "\n".join(problems)


def _is_list(response) -> bool:
    if response is None or response.status_code != 200 or "json" not in response.get("Content-Type", ""):
        return False
    data = response.json()
    return isinstance(data, list) or (isinstance(data, dict) and {"count", "results"} <= set(data))


def test_every_list_pages_as_documented(schema, world):
    problems = []
    for path, method, operation in _operations(schema):
        if method != "get":
            continue
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        query = "reason=Contract+test:+case+CAD-1" if "reason" in names else ""
        response = _answer(path, method, operation, world, query=query)
        if not _is_list(response):
            continue
        if path in UNPAGED:
            continue
        if not {"limit", "offset"} <= names:
            problems.append(f"GET {path}: a list that documents no limit and offset")
            continue
        whole = response.json()
        if not isinstance(whole, dict):
            problems.append(f"GET {path}: documents limit and offset but answers a bare list")
            continue
        one = _answer(path, method, operation, world, query="&".join(filter(None, [query, "limit=1"]))).json()
        if len(one["results"]) > 1 or one["count"] != whole["count"]:
            problems.append(f"GET {path}: limit=1 gave {len(one['results'])} of {one['count']}")
        if whole["count"] >= 2:
            second = _answer(path, method, operation, world, query="&".join(filter(None, [query, "limit=1&offset=1"])))
            if second.json()["results"] == one["results"]:
                problems.append(f"GET {path}: offset=1 gave the same row as offset=0")
    assert not problems, "\n".join(problems)


def test_the_filters_added_for_integrators_filter(world, ledgered, planned, actors, api):
    for path in ("/api/audit/events/", "/api/matching/captures/"):
        client = api(actors.privacy)
        mine = client.get(path, {"deployment": ledgered.pk, "limit": 500}).json()
        others = client.get(path, {"deployment": planned.pk, "limit": 500}).json()
        everything = client.get(path, {"limit": 500}).json()
        assert 0 < mine["count"] < everything["count"] or path.endswith("captures/"), path
        assert mine["count"] > 0 and mine["count"] + others["count"] <= everything["count"], path
        assert {row.get("deployment", ledgered.pk) for row in mine["results"]} == {ledgered.pk}, path


def test_every_status_answered_is_documented(schema, world):
    problems = []
    for path, method, operation in _operations(schema):
        body, media_type = _body(schema, operation) if method != "get" else (None, None)
        response = _answer(path, method, operation, world, body, media_type)
        if response is not None and str(response.status_code) not in operation["responses"]:
            problems.append(f"{method.upper()} {path}: answered {response.status_code}, documents "
                            f"{sorted(operation['responses'])}")  # fmt: skip
    assert not problems, "\n".join(problems)


def test_a_database_outage_answers_the_documented_503(schema, world, monkeypatch):
    from apps.accounts.api import views

    def away(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(views.MeView, "get", away)
    callers, _ = world
    response = _send("get", "/api/accounts/me/", None, None, user=callers["officer"])
    assert response.status_code == 503 and response["Retry-After"]
    assert "503" in schema["paths"]["/api/accounts/me/"]["get"]["responses"]
