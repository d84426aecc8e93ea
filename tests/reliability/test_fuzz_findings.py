"""What the schema fuzzer found, pinned down: each test fails if its finding comes back, whatever the fuzzer draws."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from apps.audit import services as audit

pytestmark = [pytest.mark.django_db]


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(
    ("path", "parameter", "role"),
    [
        ("/api/deployments/deployments/", "starts_after", "officer"),
        ("/api/watchlists/watchlists/", "starts_before", "compiler"),
        ("/api/audit/events/", "since", "privacy"),
    ],
)
def test_a_date_time_the_database_cannot_hold_is_a_clear_400_not_a_500(actors, api, path, parameter, role):
    size = audit.tree_size()
    # In production the refused query runs in autocommit; here it breaks the test's transaction: roll back to before.
    savepoint = transaction.savepoint()
    response = api(getattr(actors, role)).get(path, {parameter: "0102-05-22T04:33:47+22:53"})
    transaction.savepoint_rollback(savepoint)
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": "A value in the request is outside what can be stored or compared."}
    assert audit.tree_size() == size


def test_a_bare_validation_message_keeps_the_detail_shape(actors, api):
    from govern.api.exceptions import exception_handler

    response = exception_handler(ValidationError("Give the incident reference and the crime type."), {})
    assert response.status_code == 400
    assert response.data == {"detail": "Give the incident reference and the crime type."}


def test_every_operation_documents_its_refusals(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            assert {"400", "401", "403", "404"} <= documented, (method, path, documented)
            if method in ("post", "put", "patch", "delete"):
                assert {"409", "412", "413", "415"} <= documented, (method, path, documented)


def test_the_lists_that_are_not_paged_are_documented_as_they_are(schema):
    published = schema["paths"]["/api/deployments/published/"]["get"]["responses"]["200"]["content"]
    assert published["application/json"]["schema"] == {"$ref": "#/components/schemas/PublishedRecord"}
    retention = schema["paths"]["/api/oversight/retention/"]["get"]["responses"]["200"]["content"]
    assert retention["application/json"]["schema"]["type"] == "array"
    probes = schema["paths"]["/api/matching/searches/{id}/probes/"]["get"]["responses"]["200"]["content"]
    assert probes["application/json"]["schema"]["type"] == "array"
    access = schema["paths"]["/api/oversight/access/"]["get"]["responses"]["200"]["content"]
    assert set(access) == {"application/json", "text/csv"}


def test_blank_states_are_in_the_documented_enums(schema):
    components = schema["components"]["schemas"]
    assert components["GovernedChange"]["properties"]["decided_by"].get("nullable") is True
    for component, field in (("Watchlist", "approval_route"), ("Alert", "outcome")):
        choices = components[component]["properties"][field]
        assert any(option.get("$ref", "").endswith("BlankEnum") for option in choices.get("oneOf", [])), choices


def test_a_bundle_for_a_negative_id_is_the_api_404(actors, api):
    response = api(actors.privacy).get("/api/oversight/deployments/-1/bundle/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_a_notice_published_in_antiquity_is_refused(actors, api, planned):
    response = api(actors.officer).post(
        f"/api/deployments/deployments/{planned.pk}/notice/",
        {"published_at": "0045-01-30T16:08:09Z", "reference": "force website"},
        format="json",
    )
    assert response.status_code == 400 and "published_at" in response.json()


# --- Found from outside against `make run` (issue 20, item 8) ------------------------------------------------------


def test_json_nested_past_the_interpreters_depth_is_a_400(actors, api):
    deep = "[" * 100_000 + "]" * 100_000
    response = api().post("/api/accounts/token/", deep, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_the_schedule_at_the_end_of_the_calendar_is_a_page_not_a_500(actors, client):
    client.force_login(actors.officer)
    for date in ("9999-12-31", "0001-01-01", "2026-02-30", "x" * 100):
        for view in ("week", "month"):
            assert client.get("/deployments/schedule/", {"date": date, "view": view}).status_code == 200


def test_a_page_maps_a_value_postgresql_refuses_to_a_400(rf):
    """The pages get the API's error mapping: a DataError (a NUL in text), deep nesting or an overflow is the
    request's fault, answered 400 in plain words, never a 500."""
    from django.db import DataError

    from govern.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    for exception in (DataError("A string literal cannot contain NUL"), RecursionError(), OverflowError()):
        response = middleware.process_exception(rf.get("/deployments/"), exception)
        assert response.status_code == 400 and response.content.startswith(b"Bad request:")
    assert middleware.process_exception(rf.get("/"), ValueError("a real bug")) is None  # still a 500, logged


# --- schemathesis with every check (issue 20, item 10) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/deployments/deployments/", {"offset": "null"}),
        ("/api/deployments/deployments/", {"limit": "-1"}),
        ("/api/deployments/deployments/", {"starts_after": "null"}),
        ("/api/deployments/deployments/", {"starts_after": ""}),
        ("/api/watchlists/watchlists/", {"starts_before": "null"}),
        ("/api/audit/events/", {"since": ""}),
        ("/api/audit/events/", {"until": "null"}),
    ],
)
def test_a_bound_or_filter_that_is_not_a_value_is_refused(actors, api, path, query):
    response = api(actors.privacy).get(path, query)
    assert response.status_code == 400, (query, response.content)
    assert set(response.json()) == set(query)


def test_a_file_name_outside_ascii_is_sent_as_rfc_6266_not_rfc_2047(actors, api, planned):
    Deployment = type(planned)
    Deployment.objects.filter(pk=planned.pk).update(reference="LFR-Ünterführung")
    response = api(actors.privacy).get(f"/api/oversight/deployments/{planned.pk}/bundle/")
    assert response.status_code == 200, response.content
    disposition = response["Content-Disposition"]
    assert "=?utf-8?" not in disposition.lower()
    assert disposition == "attachment; filename*=utf-8''govern-bundle-LFR-%C3%9Cnterf%C3%BChrung.zip"


@pytest.mark.parametrize("query", [{"export": ""}, {"export": "xlsx"}, {"person": ""}, {"flagged_only": " "}])
def test_the_access_log_refuses_an_export_it_does_not_make_and_empty_filters(actors, api, query):
    response = api(actors.privacy).get("/api/oversight/access/", query)
    assert response.status_code == 400, (query, response.content)
    assert set(response.json()) == set(query)


def _rows_written() -> int:
    """Rows this transaction inserted, updated or deleted so far, rolled-back savepoints included."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return cursor.fetchone()[0]


def test_an_entry_change_its_rules_refuse_writes_nothing_not_even_a_rolled_back_new_version(actors, api, submitted):
    watchlist, _ = submitted
    entry = watchlist.entries.first()
    before = _rows_written()
    response = api(actors.compiler).patch(
        f"/api/watchlists/entries/{entry.pk}/", {"justification": "too short"}, format="json"
    )
    assert response.status_code == 400 and "justification" in response.json()
    assert _rows_written() == before  # no new version, editor or revision was written and then rolled back


@pytest.mark.parametrize("value", ["]", "ture", "yes please", ""])
def test_a_sweep_whose_dry_run_is_not_true_or_false_is_refused_not_run_for_real(actors, api, value):
    before = _rows_written()
    response = api(actors.privacy).post(f"/api/oversight/retention/sweep/?dry_run={value}")
    assert response.status_code == 400 and "dry_run" in response.json()
    assert _rows_written() == before


def test_a_countersignature_needs_no_note_and_the_schema_says_so(schema, actors, api):
    body = schema["paths"]["/api/oversight/changes/{id}/countersign/"]["post"]["requestBody"]
    assert not body.get("required")
    for decision in ("countersign", "reject"):
        assert not schema["paths"][f"/api/oversight/changes/{{id}}/{decision}/"]["post"]["requestBody"].get("required")


@pytest.mark.parametrize("value", ["ture", "garbage", "{}", "2", "[-7, 3]"])
def test_a_true_false_filter_given_anything_else_is_refused_not_ignored(actors, api, value):
    # Found by the fourth full fuzz: `?overdue={}` listed every case (django-filter read an unknown word as no filter).
    response = api(actors.privacy).get("/api/disclosures/cases/", {"overdue": value})
    assert response.status_code == 400, response.content
    assert "overdue" in response.json()


@pytest.mark.parametrize(("value", "expected"), [("true", 200), ("false", 200), ("1", 200), ("0", 200)])
def test_a_true_false_filter_takes_its_documented_spellings(actors, api, value, expected):
    assert api(actors.privacy).get("/api/disclosures/cases/", {"overdue": value}).status_code == expected
