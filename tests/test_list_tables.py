"""The list pages' tables (issue 23, point 3): sorted, filtered and paged from the query string with the total shown,
exported as CSV; never cut off silently; a hostile query string gets a page or a 400; the rows stay those the user
may see, and a page or an export of personal data is logged."""

import csv
import datetime
import io

import pytest
from django.db import transaction
from django.urls import reverse

from apps.audit import services as audit
from apps.audit.choices import CONSULTATION_ACTION, EVENTS_EXPORTED
from apps.audit.models import Event
from apps.matching.models import SearchRequest
from apps.watchlists.models import Subject, Watchlist
from tests.watchlist_fixtures import compile_watchlist

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
WHY = "Checking the gallery for case CASE-2026-17"


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv", response.content[:300]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _searches(owner, count: int) -> None:
    SearchRequest.objects.bulk_create(
        SearchRequest(
            reference=f"RFR-2026-{n:04d}",
            submitted_by=owner,
            incident_reference=f"INC-{n:04d}",
            crime_type="burglary" if n % 2 else "theft",
            total=1,
        )
        for n in range(count)
    )


def test_the_searches_list_pages_past_its_old_cut_off_with_the_total_and_exports_every_row(actors, client):
    _searches(actors.officer, 130)  # the page used to stop at 100, silently
    client.force_login(actors.officer)
    url = reverse("matching:searches")
    first = client.get(url).content.decode()
    assert "of <strong>130</strong>" in first and 'aria-label="Page 3"' in first
    last = client.get(url, {"page": 3}).content.decode()
    assert "Showing 101 to 130" in last
    assert client.get(url, {"page": "9" * 40}).content.decode().count("RFR-2026-") == 30  # past the end: the last page
    rows = _csv(client.get(url, {"export": "csv"}))
    assert len(rows) == 130 and {row["Reference"] for row in rows} == {f"RFR-2026-{n:04d}" for n in range(130)}
    thefts = _csv(client.get(url, {"export": "csv", "q": "theft"}))
    assert len(thefts) == 65 and all(row["Crime"] == "theft" for row in thefts)


def test_a_long_list_counts_its_rows_only_so_far_and_says_more_than(actors, client, monkeypatch):
    """A page of a log of a million rows counted all of them for its total; it counts up to a bound (and the pages
    near the one asked for), says "more than" beyond it, and still pages on past it."""
    from govern import tables

    monkeypatch.setattr(tables, "COUNT_BOUND", 60)
    monkeypatch.setattr(tables, "PAGES_AHEAD", 1)
    _searches(actors.officer, 130)
    client.force_login(actors.officer)
    url = reverse("matching:searches")
    first = client.get(url).content.decode()
    assert "of <strong>more than 100</strong>" in first and 'aria-label="Page 3"' in first
    last = client.get(url, {"page": 3}).content.decode()
    assert "Showing 101 to 130 of <strong>130</strong>" in last and last.count("RFR-2026-") == 30


def test_a_page_past_the_ceiling_shows_the_deepest_page_and_never_counts_every_row(actors, client, monkeypatch):
    """`?page=999999999` asked the count for the page and ten beyond it: every row of a log of a million. A page past
    the ceiling shows the deepest page offered, its count stopped at the ceiling."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from govern import tables

    monkeypatch.setattr(tables, "COUNT_BOUND", 60)
    monkeypatch.setattr(tables, "PAGES_AHEAD", 1)
    monkeypatch.setattr(tables, "COUNT_CEILING", 100)
    _searches(actors.officer, 130)
    client.force_login(actors.officer)
    for page in ("3", "999999999", "9" * 40):
        with CaptureQueriesContext(connection) as queries:
            shown = client.get(reverse("matching:searches"), {"page": page}).content.decode()
        counts = [query["sql"] for query in queries if "COUNT(*)" in query["sql"] and "searchrequest" in query["sql"]]
        assert counts and all("LIMIT 101" in sql for sql in counts), (page, counts)
        assert "Showing 51 to 100 of <strong>more than 100</strong>" in shown and shown.count("RFR-2026-") == 50
        assert 'aria-label="Page 3"' not in shown


def test_the_searches_list_sorts_by_a_column_and_ignores_an_unknown_one(actors, client):
    _searches(actors.officer, 3)
    client.force_login(actors.officer)
    url = reverse("matching:searches")
    ascending = [row["Reference"] for row in _csv(client.get(url, {"export": "csv", "sort": "reference"}))]
    descending = [row["Reference"] for row in _csv(client.get(url, {"export": "csv", "sort": "-reference"}))]
    assert ascending == ["RFR-2026-0000", "RFR-2026-0001", "RFR-2026-0002"] == descending[::-1]
    page = client.get(url, {"sort": "canary_password; DROP TABLE", "page": "abc"})
    assert page.status_code == 200 and "RFR-2026-0002" in page.content.decode()
    assert client.get(url, {"submitted_after": "2026-13-45"}).status_code == 400


def test_a_retail_partner_sees_and_exports_only_their_own_searches(actors, client):
    _searches(actors.officer, 3)
    SearchRequest.objects.create(
        reference="RFR-2026-9999", submitted_by=actors.retail, incident_reference="SHOP-1", crime_type="theft"
    )
    client.force_login(actors.retail)
    rows = _csv(client.get(reverse("matching:searches"), {"export": "csv"}))
    assert [row["Reference"] for row in rows] == ["RFR-2026-9999"]


def test_the_watchlists_list_filters_sorts_and_exports(actors, gallery, now, client):
    person, image = gallery.adult
    first = compile_watchlist(actors.compiler, person, image, now=now, purpose="Alpha purpose")
    second = compile_watchlist(actors.compiler, person, image, now=now, purpose="Beta purpose")
    client.force_login(actors.compiler)
    url = reverse("watchlists:list")
    rows = _csv(client.get(url, {"export": "csv", "sort": "-reference"}))
    assert [row["Reference"] for row in rows] == sorted([first.reference, second.reference], reverse=True)
    assert rows[0]["State"] == "Draft" and "<span" not in rows[0]["State"]
    only = _csv(client.get(url, {"export": "csv", "reference": first.reference}))
    assert [row["Purpose"] for row in only] == ["Alpha purpose"]
    assert client.get(url, {"starts_after": "yesterday"}).status_code == 400
    client.force_login(actors.commander)  # another compiler's drafts are not the commander's to see
    assert _csv(client.get(url, {"export": "csv"})) == []
    assert Watchlist.objects.count() == 2


def test_the_subject_search_pages_sorts_and_exports_its_finds_each_logged(actors, client):
    Subject.objects.bulk_create(
        Subject(
            family_name="Tabular",
            given_names=f"Person{n:02d}",
            date_of_birth=datetime.date(1980, 1, 1) + datetime.timedelta(days=n),
            created_by=actors.compiler,
        )
        for n in range(60)
    )
    client.force_login(actors.compiler)
    url = reverse("watchlists:subjects")
    since = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    found = client.post(url, {"q": "Tabular", "reason": WHY}).content.decode()
    assert "of <strong>60</strong>" in found and "Person00" in found and "Person59" not in found  # the old cut: 50
    second = client.get(url, {"page": 2}).content.decode()  # the search goes on from the session: no name in the URL
    assert "Person59" in second and "Person00" not in second
    newest_first = client.get(url, {"sort": "-date_of_birth"}).content.decode()
    assert newest_first.index("Person59") < newest_first.index("Person58")
    rows = _csv(client.get(url, {"export": "csv"}))
    assert len(rows) == 60 and rows[0]["Family name"] == "Tabular"
    logged = list(Event.objects.filter(seq__gt=since, action=CONSULTATION_ACTION).order_by("seq"))
    assert [event.target_id for event in logged] == ["search"] * 4 and {event.reason for event in logged} == {WHY}
    assert [len(event.data["results"]) for event in logged] == [50, 10, 50, 60]
    assert "export" not in logged[0].data and logged[-1].data["export"] == "csv"
    client.get("/")  # a fresh session has no search to continue: its export is refused
    client.logout()
    client.force_login(actors.compiler)
    assert client.get(url, {"export": "csv"}).status_code == 400


def test_the_audit_log_exports_as_csv_and_the_export_is_logged(actors, client):
    for n in range(3):
        with transaction.atomic():
            audit.record_access(("watchlists.subject", n + 1), actors.officer, f"=cmd|' /C calc'!A0 CASE-2026-{n}")
    client.force_login(actors.privacy)
    url = reverse("audit:events")
    rows = _csv(client.get(url, {"export": "csv", "actor": "officer", "sort": "seq"}))
    assert [row["About"] for row in rows] == ["watchlists.subject:1", "watchlists.subject:2", "watchlists.subject:3"]
    assert all(row["By"] == "officer" and row["Reason"].startswith("'=") for row in rows)  # no formula runs
    assert len(rows[0]["Leaf hash"]) == 64
    export = Event.objects.filter(action=EVENTS_EXPORTED).get()
    assert export.actor_username == "privacy" and export.data == {
        "filters": {"actor": "officer"},
        "rows": len(rows),
        "format": "csv",
    }
    assert client.get(url, {"since": "0001-01-01T00:00:00+99:00"}).status_code == 400


def test_the_deployments_list_filters_by_period_and_words_sorts_and_exports(actors, planned, client):
    client.force_login(actors.commander)
    url = reverse("deployments:list")
    rows = _csv(client.get(url, {"export": "csv"}))
    assert [row["Reference"] for row in rows] == [planned.reference] and rows[0]["State"] == "Planned"
    assert _csv(client.get(url, {"export": "csv", "when": "current", "q": planned.location_name[:6]})) == rows
    assert _csv(client.get(url, {"export": "csv", "when": "past"})) == []
    page = client.get(url, {"sort": "-location_name"}).content.decode()
    assert 'aria-sort="descending"' in page and planned.reference in page and "of <strong>1</strong>" in page
    assert client.get(url, {"when": "someday"}).status_code == 400


def test_a_columns_cell_attributes_are_built_once_a_page_not_once_a_cell(actors, client, monkeypatch):
    """django-tables2 built a column's attributes afresh for every cell (a tenth of the audit log's time); the page
    builds them once per column, and the cells keep them."""
    from django_tables2.columns.base import BoundColumn

    built = []
    attrs = BoundColumn.attrs

    def counted(column):
        built.append(column.name)
        return attrs.fget(column)

    monkeypatch.setattr(BoundColumn, "attrs", property(counted))
    with transaction.atomic():
        for n in range(30):
            audit.record("account.update", ("bench.thing", n), actors.admin, reason="Building the log")
    client.force_login(actors.privacy)
    page = client.get(reverse("audit:events")).content.decode()
    assert page.count('<td class="govuk-table__cell hash">') == min(50, Event.objects.count()) > 30
    assert built.count("leaf_hash") == 1 and len(built) == 7  # the seven columns, once each


def _rendered_costs(client, url: str) -> tuple[int, int]:
    """The `inspect.signature` calls and template compilations one request of `url` makes."""
    import inspect

    from django.template import base

    counted = {"signature": 0, "template": 0}
    signature, template_init = inspect.signature, base.Template.__init__

    def counted_signature(*args, **kwargs):
        counted["signature"] += 1
        return signature(*args, **kwargs)

    def counted_template(self, *args, **kwargs):
        counted["template"] += 1
        return template_init(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inspect, "signature", counted_signature)
        patch.setattr(base.Template, "__init__", counted_template)
        assert client.get(url).status_code == 200
    return counted["signature"], counted["template"]


def test_a_list_pages_cell_work_does_not_grow_with_its_rows(actors, client):
    """django-tables2 read each render method's signature for every cell and compiled a date column's template for
    every cell (most of a list page's time); the page works them out once a column, so 40 rows cost what 5 do."""
    client.force_login(actors.privacy)
    url = reverse("audit:events")
    with transaction.atomic():
        for n in range(5):
            audit.record("account.update", ("bench.thing", n), actors.admin, reason="Building the log")
    client.get(url)  # the page's own templates compiled and cached
    few = _rendered_costs(client, url)
    with transaction.atomic():
        for n in range(40):
            audit.record("account.update", ("bench.thing", n), actors.admin, reason="Building the log")
    assert _rendered_costs(client, url) == few


def test_a_pages_cells_are_those_django_tables2_renders(actors, gallery, planned, client):
    """The page's own cell path gives, cell for cell, what django-tables2's `BoundRow.get_cell` gives (choices shown
    by label, render methods with any arguments, empty values, defaults), on lists of real rows; and the rows written
    in one pass are what the template's loop wrote."""
    from django.template import Context, Template
    from django.test import RequestFactory

    from apps.audit.tables import EventTable
    from apps.deployments.models import Deployment
    from apps.deployments.tables import DeploymentTable
    from apps.watchlists.tables import WatchlistTable
    from govern.tables import show

    with transaction.atomic():
        for n in range(3):
            audit.record("account.update", ("bench.thing", n), actors.admin, reason="Building the log" if n else "")
    request = RequestFactory().get("/")
    checked = 0
    for table_class, rows in (
        (EventTable, Event.objects.all()),
        (DeploymentTable, Deployment.objects.all()),
        (WatchlistTable, Watchlist.objects.all()),
    ):
        table = table_class(rows)
        show(request, table)
        for row, cells in table.page_cells():
            expected = [row.get_cell(column.name) for column in table.columns]
            assert [cell for _td, cell in cells] == expected, table_class
            checked += len(cells)
        looped, written = table_class(rows), table_class(rows)  # each its own row counter (the odd and even rows)
        show(request, looped), show(request, written)
        assert Template(LOOP).render(Context({"table": looped})) == written.page_body(), table_class
    assert checked > 30


# The table template's loop over rows and cells, before the page wrote its rows in one pass (`ListTable.page_body`).
LOOP = """{% for row, cells in table.page_cells %}
      <tr {{ row.attrs.as_html }}>
        {% for td, cell in cells %}<td {{ td }}>{{ cell }}</td>{% endfor %}
      </tr>
    {% endfor %}"""


@pytest.mark.parametrize("zone", ["UTC", "Europe/London"])
def test_a_date_columns_cells_are_those_of_django_tables2s_template(zone):
    """Govern's date columns format each cell through the `date` filter, as django-tables2's column template does
    (the current time zone, the default for no value, escaped), without compiling the template for every cell."""
    import django_tables2 as tables
    from django.utils import timezone

    from govern.tables import DateColumn, DateTimeColumn, ListTable

    summer = datetime.datetime(2026, 7, 1, 23, 30, 5, tzinfo=datetime.UTC)
    records = [{"at": summer, "on": summer.date()}, {"at": None, "on": None}, {"at": "", "on": ""}]
    cases = (("Y-m-d H:i:s", "Y-m-d", None), ("j M Y", "j M Y", ""), (None, None, "<none>"))
    for at_format, on_format, default in cases:
        ours = type(
            "Ours",
            (ListTable,),
            {"at": DateTimeColumn(at_format, default=default), "on": DateColumn(on_format, default=default)},
        )
        theirs = type(
            "Theirs",
            (ListTable,),
            {
                "at": tables.DateTimeColumn(at_format, default=default),
                "on": tables.DateColumn(on_format, default=default),
            },
        )
        with timezone.override(zone):
            for name in ("at", "on"):
                ours_cells = [row.get_cell(name) for row in ours(records).rows]
                assert ours_cells == [row.get_cell(name) for row in theirs(records).rows], (at_format, name)
                assert [row.get_cell_value(name) for row in ours(records).rows] == [
                    row.get_cell_value(name) for row in theirs(records).rows
                ]
