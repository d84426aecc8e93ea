"""The access log review (issue 23, point 3): paged with its total past the old 200 rows, every record named and
linked, a person found by name or PNC ID (the lookup logged), and readers compared with peers on the same duty."""

import re

import pytest
from django.db import transaction
from django.urls import reverse

from apps.audit import services as audit
from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.matching.models import Alert
from apps.oversight import access_review
from apps.oversight.access_review import AccessFilter
from apps.watchlists.models import CustodyImage
from govern.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _read(target, actor, reason="Review under case CASE-2026-1", times=1):
    with transaction.atomic():
        for _ in range(times):
            audit.record_access(target, actor, reason)


def test_the_access_log_pages_past_200_rows_and_shows_the_total(actors, client):
    _read(("watchlists.subject", 1), actors.officer, times=230)
    client.force_login(actors.privacy)
    url = reverse("oversight:access")
    first = client.get(url, {"actor": "officer"}).content.decode()
    assert "of <strong>230</strong>" in first and 'aria-label="Page 5"' in first
    last = client.get(url, {"actor": "officer", "page": 5}).content.decode()
    assert "Showing 201 to 230" in last
    oldest = client.get(url, {"actor": "officer", "sort": "seq"}).content.decode()
    oldest = oldest[oldest.index('id="access-rows"') :]
    oldest = oldest[: oldest.index("</table>")]
    seqs = [int(n) for n in re.findall(r'<td class="govuk-table__cell">(\d+)</td>', oldest)]
    assert seqs == sorted(seqs) and len(seqs) == 50
    assert client.get(url, {"actor": "officer", "sort": "nonsense", "page": "-1"}).status_code == 200
    assert client.get(url, {"start": "2026-02-31T10:00"}).status_code == 400


def test_each_record_is_named_and_linked_where_the_reviewer_may_open_it(actors, ledgered, client):
    alert = Alert.objects.get(pk=ledgered.alert_id)
    image = CustodyImage.objects.filter(subject=alert.subject).first()
    approved_watchlist = ledgered.watchlist
    _read(alert, actors.officer)
    _read(image, actors.compiler)
    _read(approved_watchlist, actors.commander)
    url = reverse("oversight:access")
    client.force_login(actors.privacy)
    page = client.get(url).content.decode()
    queue = reverse("matching:alerts", args=[alert.deployment_id])
    named = f'data-record="matching.alert:{alert.pk}">Alert {alert.pk} at {ledgered.reference}</a>'
    assert f'href="{queue}#alert-{alert.pk}" {named}' in page
    named = (
        f'data-record="watchlists.custodyimage:{image.pk}">Custody image {image.pk} of subject {alert.subject_id}</a>'
    )
    assert f'href="{url}?person={alert.subject_id}" {named}' in page
    detail = reverse("watchlists:detail", args=[approved_watchlist.pk])
    assert (
        f'href="{detail}" data-record="watchlists.watchlist:{approved_watchlist.pk}">{approved_watchlist.reference}</a>'
        in page
    )
    rows = page[page.index('id="access-rows"') : page.index("</table>", page.index('id="access-rows"'))]
    assert not re.search(r">[a-z_]+\.[a-z_]+:[\w-]+<", rows)  # no record is shown as a raw type:id
    client.force_login(actors.oversight)  # the oversight role reads the log but not alerts: named, not linked
    page = client.get(url).content.decode()
    assert f'<span data-record="matching.alert:{alert.pk}">Alert {alert.pk} at {ledgered.reference}</span>' in page


def test_a_person_is_found_by_name_or_pnc_id_and_the_lookup_is_logged(actors, ledgered, client):
    alert = Alert.objects.get(pk=ledgered.alert_id)
    subject = alert.subject
    image = CustodyImage.objects.filter(subject=subject).first()
    _read(alert, actors.officer, "Judging alert LFR-2026-1")
    _read(image, actors.compiler, "Compiling list WL-2026-1")
    _read(("watchlists.subject", 999999), actors.compiler, "Someone else entirely DPA-2026-7")
    client.force_login(actors.privacy)
    url = reverse("oversight:access")
    for asked in (subject.family_name, subject.pnc_id):
        page = client.get(url, {"person": asked}).content.decode()
        assert "Judging alert LFR-2026-1" in page and "Compiling list WL-2026-1" in page
        assert "Someone else entirely" not in page and 'id="people-found">1 person found' in page
    lookups = Event.objects.filter(action=CONSULTATION_ACTION, target_type="watchlists.subject", target_id="search")
    assert lookups.count() == 2 and all(event.data["results"] == [subject.pk] for event in lookups)
    assert {event.actor_username for event in lookups} == {"privacy"}
    assert subject.family_name not in str([event.data for event in lookups])  # the words only as a commitment
    nobody = client.get(url, {"person": "Nobody Byt his name"}).content.decode()
    assert "Nobody found by that name" in nobody and "Judging alert" not in nobody


def test_readers_are_compared_with_peers_on_the_same_duty(actors, make_user, settings, client):
    settings.ACCESS_HEAVY_READER_MINIMUM = 5
    on_duty, colleague, third = actors.officer, make_user("pc2", Role.OFFICER), make_user("pc3", Role.OFFICER)
    _read(("matching.alert", 1), on_duty, times=12)
    _read(("matching.alert", 2), colleague, times=4)
    _read(("matching.alert", 3), third, times=2)
    _read(("watchlists.subject", 1), actors.compiler, times=30)  # no other compiler read: nobody to compare with
    _read(("watchlists.subject", 2), actors.privacy)
    found = {reader.actor: reader for reader in access_review.readers()}
    assert found["officer"].heavy and found["officer"].peer_median == 3 and found["officer"].bar == 9
    assert not found["pc2"].heavy and not found["pc3"].heavy
    # Against everyone's median (1 privacy read, 2, 4, 12 officer reads) the compiler's 30 stood out; against their
    # own duty there is nobody, so nothing is claimed.
    assert not found["compiler"].heavy and found["compiler"].peer_median is None and found["compiler"].peers == 0
    assert access_review.heavy_readers() == {"officer": 12}
    client.force_login(actors.privacy)
    page = client.get(reverse("oversight:access")).content.decode()
    assert "officer (12 reads; peers&#x27; median 3)" in page or "officer (12 reads; peers' median 3)" in page
    row = page[page.index('data-reader="compiler"') :]
    assert "no peer: not compared" in row[: row.index("</tr>")]


def test_the_flagged_only_search_in_sql_flags_what_the_rows_flag(actors, ledgered, make_user, settings):
    settings.ACCESS_HEAVY_READER_MINIMUM = 5
    alert = Alert.objects.get(pk=ledgered.alert_id)
    peer = make_user("peer", Role.OFFICER)
    _read(alert, peer, f"Adjudication {ledgered.reference}")
    _read(("watchlists.subject", 5), actors.officer, "just looking", times=8)
    _read(("watchlists.subject", 6), actors.privacy, "Audit sample AUD-2026-01")
    _read(("watchlists.subject", 7), actors.privacy, "no reference here")
    everything = access_review.flag(access_review.search(AccessFilter()), AccessFilter())
    flagged = {row.event.seq for row in everything if row.flags}
    in_sql = set(access_review.search(AccessFilter(flagged_only=True)).values_list("seq", flat=True))
    assert in_sql == flagged and len(flagged) == 9  # the officer's eight (heavy, no case) and the privacy officer's one


def test_the_api_finds_a_person_by_name_or_pnc_id_as_the_page_does(actors, ledgered, api):
    """/api/oversight/access/ took a subject's number only; it now reads the page's FilterSet, lookup logged alike."""
    alert = Alert.objects.get(pk=ledgered.alert_id)
    subject = alert.subject
    _read(alert, actors.officer, "Judging alert LFR-2026-1")
    _read(("watchlists.subject", 999999), actors.compiler, "Someone else entirely DPA-2026-7")
    for asked in (subject.family_name, subject.pnc_id):
        answer = api(actors.privacy).get("/api/oversight/access/", {"person": asked})
        assert answer.status_code == 200, answer.json()
        reasons = [row["reason"] for row in answer.json()["results"]]
        assert "Judging alert LFR-2026-1" in reasons and "Someone else entirely DPA-2026-7" not in reasons
    lookups = Event.objects.filter(action=CONSULTATION_ACTION, target_type="watchlists.subject", target_id="search")
    assert lookups.count() == 2 and {event.actor_username for event in lookups} == {"privacy"}
    assert api(actors.privacy).get("/api/oversight/access/", {"start": "yesterday"}).status_code == 400


def test_the_api_pages_the_flagged_rows_in_the_database_past_the_export_cap(actors, api, monkeypatch):
    """The API flagged the newest EXPORT_LIMIT events in Python and paged what it found, so flagged reads older than
    the cap were missing from its count and its pages; the database now finds and pages them, as the page does."""
    monkeypatch.setattr(access_review, "EXPORT_LIMIT", 3)
    _read(("watchlists.subject", 5), actors.privacy, "no reference here", times=4)
    _read(("watchlists.subject", 6), actors.privacy, "Audit sample AUD-2026-01", times=5)
    answer = api(actors.privacy).get("/api/oversight/access/", {"flagged_only": "true", "limit": 2, "offset": 2})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["count"] == 4 and len(body["results"]) == 2
    assert all(row["flags"] == [access_review.NO_CASE] for row in body["results"])


def test_readers_are_compared_over_a_bounded_window_when_no_start_is_given(actors, settings, client):
    """The comparison counted every read the log held (six years of them) when the search gave no start; it counts
    the ACCESS_HEAVY_READER_DAYS before the end, and the page says since when."""
    import datetime

    from django.utils import timezone

    settings.ACCESS_HEAVY_READER_DAYS = 30
    _read(("watchlists.subject", 5), actors.officer, times=3)
    later = timezone.now() + datetime.timedelta(days=31)
    assert access_review.readers(end=later) == []  # the reads are before the window that ends 31 days from now
    assert [reader.actor for reader in access_review.readers(end=later - datetime.timedelta(days=2))] == ["officer"]
    assert [reader.actor for reader in access_review.readers(start=timezone.now() - datetime.timedelta(days=1))] == [
        "officer"
    ]
    client.force_login(actors.privacy)
    page = client.get("/oversight/access/").content.decode()
    since = timezone.localtime(timezone.now() - datetime.timedelta(days=30)).strftime("%-d %b %Y")
    assert f"Readers since {since}" in page


def test_a_page_of_the_access_log_reads_its_rows_in_a_few_queries(actors, client, django_assert_max_num_queries):
    """The page deferred each event's canonical JSON, which naming the record reads: one query more per row shown."""
    _read(("watchlists.subject", 1), actors.officer, "Review CASE-2026-1", times=60)
    client.force_login(actors.privacy)
    with django_assert_max_num_queries(30):
        page = client.get(reverse("oversight:access"))
    assert page.status_code == 200 and "Showing 1 to 50 of <strong>60</strong>" in page.content.decode()


@pytest.mark.parametrize("value", [None, 0, 3, 2.5, 2.25, 2.35, 0.15, 7.95, 8.99, 10.45, 1 / 3, 2 / 3, 12.0, 1e-9])
def test_the_readers_figures_read_as_floatformat_wrote_them(value):
    """The readers' table wrote two figures a reader with `floatformat:"-1"` (Decimal arithmetic, a tenth of the page's
    time with a few hundred readers); `one_place` writes them alike."""
    from django.template.defaultfilters import floatformat

    assert access_review.one_place(value) == ("" if value is None else floatformat(value, "-1"))


def test_the_readers_rows_are_those_the_templates_loop_wrote():
    """The readers' table's rows are written in one pass (`tables.reader_rows`), as the template's loop over a few
    hundred readers wrote them: the same markup, escaped alike, the flag on the heavy."""
    from django.template import Context, Template

    from apps.oversight.tables import reader_rows

    loop = Template(
        '{% for r in readers %}<tr class="govuk-table__row{% if r.heavy %} flagged{% endif %}" '
        'data-reader="{{ r.actor }}">'
        '<td class="govuk-table__cell">{{ r.actor }}</td><td class="govuk-table__cell">{{ r.duty }}</td>'
        '<td class="govuk-table__cell">{{ r.reads }}</td><td class="govuk-table__cell">{{ r.peers }}</td>'
        '<td class="govuk-table__cell peer-median">{% if r.peer_median is None %}no peer: not compared{% else %}'
        '{{ r.peer_median_shown }}{% endif %}</td><td class="govuk-table__cell">{% if r.bar is None %}\N{EN DASH}'
        '{% else %}{{ r.bar_shown }}{% endif %}{% if r.heavy %} <span class="flag" data-flag="heavy_reader">'
        "heavy reader</span>{% endif %}</td></tr>{% endfor %}"
    )
    readers = [
        access_review.Reader("officer", "Officer", 12345, 3, 2.5, 20.0, True),
        access_review.Reader('<b>"o\'brien"&', "Officer, Watchlist compiler", 0, 0, None, None, False),
        access_review.Reader("compiler", "Watchlist compiler", 7, 1, 7.0, 1 / 3, False),
    ]
    assert str(reader_rows(readers)) == loop.render(Context({"readers": readers}))
    assert str(reader_rows([])) == ""
