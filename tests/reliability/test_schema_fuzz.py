"""Schema fuzzing: schemathesis makes requests for every operation of the OpenAPI schema and sends each as every role.

For every response: no 5xx, the status code and the body are the ones the schema documents, and a refused request
(any 4xx) changed nothing: no row inserted, updated or deleted, no audit event. The only refusals that may write are
the ones the code logs on purpose (see DELIBERATE_REFUSAL_WRITES).

The suite runs FUZZ_EXAMPLES examples per operation (default 3); `make fuzz` runs many more. The figures of the last
long run are in docs/reliability.md.
"""

import dataclasses
import json
import os
import re
from collections import Counter
from decimal import Decimal

import hypothesis
import jsonschema
import pytest
import schemathesis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import strategies as st
from psycopg.pq import TransactionStatus
from schemathesis import DataGenerationMethod
from schemathesis.checks import ALL_CHECKS
from schemathesis.constants import NOT_SET
from schemathesis.internal.checks import CheckConfig, CheckContext, NegativeDataRejectionConfig
from schemathesis.specs.openapi.checks import negative_data_rejection

from apps.accounts.models import User
from apps.deployments.models import Asset, Deployment, PolicyDocument
from apps.matching.models import Alert, Probe, SearchRequest
from apps.matching.services import live_capture, retrospective
from apps.oversight import services as oversight
from apps.oversight.models import GovernedChange
from apps.watchlists.models import CustodyImage, Entry, Subject, Watchlist

pytestmark = [pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
ONLY = re.compile(os.environ.get("FUZZ_ONLY", ""))  # a regular expression on the path, to fuzz a few operations
# A request the schema does not allow must be refused. Besides schemathesis's own list, these refusals are the right
# answer to one too: 409 (the object's state refuses it before its body is read), 412 (a stale revision), 413 (too
# large), 415 (not a type the operation takes) and 429 (past a partner's limits).
REFUSALS = ["400", "401", "403", "404", "406", "409", "412", "413", "415", "422", "428", "429"]


def negative_data_refused(ctx, response, case):
    """schemathesis's negative_data_rejection, with Govern's documented refusals allowed, and its two documented
    exceptions: a JSON number sent for a text field is taken as that number's text (DRF's CharField), then checked
    like any other text; and a true/false query parameter given the number 0 or 1 is sent as the text `0` or `1`,
    which Govern reads as false or true (docs/reliability.md). A query value that is a list of one allowed value is
    sent as that value: the request is an allowed one (`_one_allowed_value`)."""
    if _number_for_text(case) or _number_for_flag(case) or _one_allowed_value(case):
        return None
    config = CheckConfig(negative_data_rejection=NegativeDataRejectionConfig(allowed_statuses=REFUSALS))
    return negative_data_rejection(dataclasses.replace(ctx, config=config), response, case)


def _number_for_text(case) -> bool:
    """Whether a JSON body sends a number where the schema asks for a string."""
    if case.media_type != "application/json" or not isinstance(case.body, dict):
        return False
    properties = (case.operation.get_resolved_payload_schema(case.media_type) or {}).get("properties", {})
    texts = {name for name, schema in properties.items() if schema.get("type") == "string"}
    return any(
        isinstance(value, int | float) and not isinstance(value, bool) and name in texts
        for name, value in case.body.items()
    )


def _number_for_flag(case) -> bool:
    """Whether a true/false query parameter was given the number 0 or 1: its text is `0` or `1`, a documented spelling
    of false and true (`govern.api.viewsets.boolean_parameter`, django-filter's BooleanFilter)."""
    flags = {
        parameter.name
        for parameter in case.operation.query
        if (parameter.definition.get("schema") or {}).get("type") == "boolean"
    }
    return any(name in flags and type(value) is int and value in (0, 1) for name, value in (case.query or {}).items())


def _one_allowed_value(case) -> bool:
    """Whether the only negated part is the query, and each of its values is allowed or a list of one allowed value:
    the transport sends `[True]` as `?dry_run=true`, the allowed request itself (a transport artefact, as
    `_unsendable`)."""
    meta = case.meta
    if meta is None or meta.query is not DataGenerationMethod.negative or not case.query:
        return False
    if DataGenerationMethod.negative in (meta.path_parameters, meta.headers, meta.cookies, meta.body):
        return False
    schemas = {parameter.name: parameter.definition.get("schema") or {} for parameter in case.operation.query}
    listed = False
    for name, value in case.query.items():
        schema = schemas.get(name)
        if schema is None or "$ref" in json.dumps(schema):
            return False
        if isinstance(value, list):
            if len(value) != 1:
                return False
            value, listed = value[0], True
        if not jsonschema.Draft4Validator(schema).is_valid(value):
            return False
    return listed


def _unsendable(case) -> bool:
    """A query parameter whose negated value is null or an empty list: the transport leaves it out, so the request
    sent is another one (often an allowed one)."""
    values = (case.query or {}).values()
    return any(value is None or (isinstance(value, list) and (not value or None in value)) for value in values)


# Every check schemathesis has (`--checks all`), negative_data_rejection with Govern's refusals.
CHECKS = tuple(negative_data_refused if check is negative_data_rejection else check for check in ALL_CHECKS)
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
CAMERA_PATHS = {"/api/matching/capture/", "/api/matching/capture/crops/"}
# Refusals that write on purpose, each for a reason: a camera's refused frame is logged (an operational fact the
# privacy officer reconciles), and a failed sign-in is logged (to detect guessing).
DELIBERATE_REFUSAL_WRITES = {
    "/api/matching/capture/": ("audit_",),
    "/api/matching/capture/crops/": ("audit_",),
    "/api/accounts/token/": ("audit_", "accounts_"),
}
# The rows a path's {id} names, so that half the examples reach a real object rather than a 404.
PATH_OBJECTS = {
    "accounts/users": User,
    "deployments/assets": Asset,
    "deployments/deployments": Deployment,
    "deployments/documents": PolicyDocument,
    "oversight/deployments": Deployment,
    "watchlists/subjects": Subject,
    "watchlists/images": CustodyImage,
    "watchlists/watchlists": Watchlist,
    "watchlists/entries": Entry,
    "matching/alerts": Alert,
    "matching/searches": SearchRequest,
    "matching/probes": Probe,
    "oversight/changes": GovernedChange,
}
WRITES_SQL = (
    "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
    "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
)


@schemathesis.serializer("image/jpeg")
class RawImageBody:
    """A camera's frame is the request body itself: send the generated bytes as they are."""

    def _raw(self, value) -> dict:
        value = getattr(value, "data", value)  # schemathesis wraps generated binary strings
        if isinstance(value, (bytes, bytearray)):
            return {"data": bytes(value)}
        # A negated body (an object, a number): its JSON text is the bytes a confused camera would send.
        return {"data": (value if isinstance(value, str) else json.dumps(value)).encode()}

    def as_requests(self, context, value) -> dict:
        return self._raw(value)

    def as_werkzeug(self, context, value) -> dict:
        return self._raw(value)


# A frame may also be a PNG or WebP body (issue 23): the same raw bytes.
for _frame_type in ("image/png", "image/webp"):
    schemathesis.serializer(_frame_type)(RawImageBody)


def _recount_negation(case, path_now_valid: bool) -> None:
    """A negated case whose negated parts are all allowed after all is no longer negative: its path, now a real
    object's id, or its body, left out where the body is optional (schemathesis draws an absent optional body in a
    negated case and still counts the body as negated)."""
    if case.meta is None:
        return
    if path_now_valid and case.meta.path_parameters is DataGenerationMethod.negative:
        case.meta = dataclasses.replace(case.meta, path_parameters=DataGenerationMethod.positive)
    if case.body is NOT_SET and case.meta.body is DataGenerationMethod.negative:
        case.meta = dataclasses.replace(case.meta, body=DataGenerationMethod.positive)
    parts = (case.meta.path_parameters, case.meta.query, case.meta.headers, case.meta.cookies, case.meta.body)
    if DataGenerationMethod.negative not in parts:
        case.data_generation_method = DataGenerationMethod.positive


def _failed_checks(case, response) -> list[str]:
    """Each check's failure in a line. (Case.validate_response would do it, but it reads a binary body as text.)"""
    problems = []
    savepoint = transaction.savepoint()  # ignored_auth sends the request again, without the credentials
    for check in CHECKS:
        context = CheckContext(override=None, auth=None, headers=None)
        try:
            check(context, response, case.partial_deepcopy())
        except AssertionError as exc:  # CheckFailed is one
            title = getattr(getattr(exc, "context", None), "title", "")
            message = getattr(getattr(exc, "context", None), "message", "") or str(exc)
            problems.append(f"{check.__name__}: {' '.join(f'{title}: {message}'.split())[:300]}")
    if connection.connection.info.transaction_status == TransactionStatus.INERROR:
        transaction.savepoint_rollback(savepoint)
    else:
        transaction.savepoint_commit(savepoint)
    return problems


def _writes() -> Counter:
    """Rows this transaction inserted, updated or deleted so far, by table (PostgreSQL counts them for us)."""
    with connection.cursor() as cursor:
        cursor.execute(WRITES_SQL)
        return Counter(dict(cursor.fetchall()))


@pytest.fixture
def in_process_wsgi():
    """Django's WSGI handler called in the test's thread and transaction, as Django's test client does it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(ledgered, actors, approvers, vans, astronaut, evidence, engine_report):
    """Something of everything for the fuzzer to hit: a live deployment with alerts and receipts, a search, a change."""
    retrospective.submit(actors.officer, [astronaut], incident_reference="CAD-1", crime_type="Robbery")
    oversight.propose(
        approvers.superintendent,
        "threshold",
        threshold=Decimal("0.640"),
        reason="Laboratory retest of the engine at 0.64 shows lower FPIR with no demographic imbalance.",
        equality_evidence="Report section 4: FPIR by sex and by ethnicity within the confidence intervals at 0.64.",
        evaluation=engine_report,
        evidence=evidence(),
    )
    users = {
        "commander": actors.commander,
        "compiler": actors.compiler,
        "officer": actors.officer,
        "privacy": actors.privacy,
        "oversight": actors.oversight,
        "retail": actors.retail,
        "admin": actors.admin,
        "outsider": actors.outsider,
        "superintendent": approvers.superintendent,
    }
    sessions = {role: _session(user) for role, user in users.items()}
    sessions["anonymous"] = {}
    credential = live_capture.issue_credential(approvers.superintendent, vans[0])
    camera = {"headers": {"Authorization": f"Camera {credential}"}}
    return sessions, camera


def _session(user) -> dict:
    """A signed-in browser session for the user, with its CSRF token (a session, unlike a token, writes on no read)."""
    browser = Client()
    browser.force_login(user)
    csrf = get_random_string(32)
    cookies = {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}
    return {"headers": {"X-CSRFToken": csrf}, "cookies": {**cookies, settings.CSRF_COOKIE_NAME: csrf}}


def _known_object(path: str):
    match = re.match(r"^/api/([a-z-]+/[a-z-]+)/\{", path)
    model = PATH_OBJECTS.get(match.group(1)) if match else None
    return model.objects.order_by("pk").first() if model else None


def _fuzz(operation, callers: dict, known, failures: dict, figures: Counter) -> None:
    """Run EXAMPLES generated cases of one operation, each sent as every caller; note every problem once."""
    path = operation.path
    # Requests the schema allows and requests it does not (a wrong type, a missing field, a value out of range).
    # An operation with nothing to negate (no parameters, no body) draws only the first kind.
    cases = operation.as_strategy(data_generation_method=DataGenerationMethod.positive) | operation.as_strategy(
        data_generation_method=DataGenerationMethod.negative, skip_on_not_negated=False
    )

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=cases, aim_at_object=st.booleans())
    def fuzz(case, aim_at_object):
        if aim_at_object and known is not None and case.path_parameters:
            case.path_parameters = {name: known.pk for name in case.path_parameters}
        _recount_negation(case, path_now_valid=bool(aim_at_object and known is not None and case.path_parameters))
        if case.media_type in FORM_TYPES and not isinstance(case.body, (dict, type(NOT_SET))):
            hypothesis.reject()  # a form is a set of fields: a negated body that is a number or a list cannot be sent
        if _unsendable(case):
            hypothesis.reject()
        figures["examples"] += 1
        for role, credentials in callers.items():
            before = _writes()
            # Each request in a savepoint: a 500 that broke the transaction must not take the next requests with it.
            savepoint = transaction.savepoint()
            sent = case.partial_deepcopy()  # schemathesis keeps the cookies of a call on its case
            response = sent.call(**credentials)
            if (
                response.status_code >= 500
                or connection.connection.info.transaction_status == TransactionStatus.INERROR
            ):
                transaction.savepoint_rollback(savepoint)
            else:
                transaction.savepoint_commit(savepoint)
            written = _writes() - before
            figures["requests"] += 1
            sent._has_explicit_auth = bool(credentials)  # ignored_auth: the caller's own credentials, not generated
            problems = _failed_checks(sent, response)
            if response.status_code >= 500 and "\x00" in str(
                (sent.cookies or {}).get(settings.SESSION_COOKIE_NAME, "")
            ):
                problems = ["500 for a NUL character in the session cookie"]
            if 400 <= response.status_code < 500:
                figures["refused"] += 1
                allowed = DELIBERATE_REFUSAL_WRITES.get(path, ())
                unexpected = sorted(table for table in written if not table.startswith(allowed))
                if unexpected:
                    problems.append(f"refused with {response.status_code} yet wrote {unexpected}")
            for problem in problems:
                key = (operation.verbose_name, role, problem)
                sent = f"query={case.query} path={case.path_parameters} body={case.body!r} headers={case.headers}"
                failures.setdefault(key, f"{response.status_code} {response.get_data()[:200]!r}\n    sent {sent[:300]}")

    fuzz()


def test_every_operation_as_every_role_conforms_and_refusals_change_nothing(in_process_wsgi, world):
    sessions, camera = world
    schema = schemathesis.from_wsgi("/api/schema/", in_process_wsgi)
    failures, figures = {}, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not ONLY.search(operation.path):
            continue
        callers = {"camera": camera} if operation.path in CAMERA_PATHS else sessions
        _fuzz(operation, callers, _known_object(operation.path), failures, figures)
        figures["operations"] += 1

    print(f"\nschema fuzz: {dict(figures)}, roles {len(sessions)}, examples per operation {EXAMPLES}")
    report = [f"{op} as {role}: {problem}\n    {sample}" for (op, role, problem), sample in sorted(failures.items())]
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(report)
    assert figures["operations"] >= (98 if not ONLY.pattern else 1)


def _negated_case(sent, **parts):
    from types import SimpleNamespace

    from schemathesis.models import GenerationMetadata, TestPhase

    negative = DataGenerationMethod.negative
    meta = dict.fromkeys(("query", "path_parameters", "headers", "cookies", "body"))
    meta.update(parts)
    details = {"description": None, "location": None, "parameter": None, "parameter_location": None}
    return SimpleNamespace(
        body=sent, data_generation_method=negative, meta=GenerationMetadata(**meta, phase=TestPhase.GENERATE, **details)
    )


def test_an_absent_optional_body_is_not_counted_as_negated_data():
    # Found on a clean clone: a countersignature sent with no note, accepted as documented, was reported as accepted
    # negative data, because schemathesis counts an optional body it left out as negated.
    case = _negated_case(NOT_SET, body=DataGenerationMethod.negative)
    _recount_negation(case, path_now_valid=False)
    assert case.data_generation_method is DataGenerationMethod.positive
    # A negated path that still names nothing, or a body that was sent, keeps the case negative.
    for case in (
        _negated_case(NOT_SET, body=DataGenerationMethod.negative, path_parameters=DataGenerationMethod.negative),
        _negated_case({"note": 5}, body=DataGenerationMethod.negative),
    ):
        _recount_negation(case, path_now_valid=False)
        assert case.data_generation_method is DataGenerationMethod.negative
    case = _negated_case(NOT_SET, path_parameters=DataGenerationMethod.negative)
    _recount_negation(case, path_now_valid=True)
    assert case.data_generation_method is DataGenerationMethod.positive
