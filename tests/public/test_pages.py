"""The public records (issue 22, item 4): the deployments announced and their feeds, a completed deployment's report,
the annual reports and their FOI pack, the method page; every figure from the records, none identifying a person."""

import csv
import datetime
import io
import json
import re
import zipfile
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.deployments import services as deployments
from apps.deployments.choices import LocationType
from apps.deployments.models import Deployment, PublishedFigures
from apps.matching.models import Alert
from apps.public import reports
from apps.watchlists.models import Entry, Manifest
from apps.watchlists.services import watchlists
from tests.public_fixtures import JUDGE, plan_ahead

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
# The astronaut photo's subject as the watchlist holds her, and the people who compiled, approved and judged.
PERSONAL = ["Collins", "Eileen", "56/000001C", "1956-11-19", JUDGE, "Hartnell", "Wilhelmina", "supt", "compiler"]


def _public_part(page: str) -> str:
    """The page below the masthead: what the public pages themselves say."""
    return page.split("<main>", 1)[1]


def _no_person(text: str) -> None:
    for word in PERSONAL:
        assert word not in text, word


@pytest.fixture
def announced(actors, live, documents, now):
    """Beside the live deployment (announced, its list of one person approved): one upcoming with its notice but no
    list yet, one planned without notice, and one announced then cancelled."""
    upcoming = plan_ahead(
        actors.officer, documents, start=now + datetime.timedelta(days=3), location_type=LocationType.INTELLIGENCE
    )
    deployments.publish_notice(actors.officer, upcoming, reference="Force website, 1 Dec")
    unannounced = plan_ahead(
        actors.officer, documents, start=now + datetime.timedelta(days=5), location_name="Hackney Central"
    )
    cancelled = plan_ahead(
        actors.officer, documents, start=now + datetime.timedelta(days=7), location_name="Wembley Park"
    )
    deployments.publish_notice(actors.officer, cancelled, reference="Force website, 1 Dec")
    deployments.cancel(actors.commander, cancelled, reason="The event was called off.")
    return {"live": live, "upcoming": upcoming, "unannounced": unannounced, "cancelled": cancelled}


# --- The deployments announced, and their feeds -----------------------------------------------------------------------


def test_the_sign_in_page_links_to_the_public_records(client):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("public")}"' in page


def test_the_index_lists_what_is_announced_with_its_band_and_notice(client, announced):
    page = client.get(reverse("public"))
    assert page.status_code == 200
    text = _public_part(page.content.decode())
    live, upcoming = announced["live"], announced["upcoming"]
    assert text.index(f'id="{live.reference}"') < text.index(f'id="{upcoming.reference}"')  # soonest first
    live_row = re.search(rf'<tr id="{live.reference}">(.*?)</tr>', text, re.S).group(1)
    assert "Oxford Circus" in live_row and "Oxford Street, London W1" in live_row
    assert "Live now" in live_row and "fewer than 100" in live_row
    assert "Crime hotspot and its access routes" in live_row
    notice = timezone.localtime(Deployment.objects.get(pk=live.pk).notice_published_at)
    assert f"{notice.day} {notice:%b %Y}" in live_row
    upcoming_row = re.search(rf'<tr id="{upcoming.reference}">(.*?)</tr>', text, re.S).group(1)
    assert "Upcoming" in upcoming_row and "not yet compiled" in upcoming_row and "Stratford" in upcoming_row
    assert "Intelligence that sought people are likely to be there" in upcoming_row
    for absent in (announced["unannounced"], announced["cancelled"]):
        assert absent.reference not in text and absent.location_name not in text
    for linked in ("public-deployments", "public-annual", "public-method"):
        assert f'href="{reverse(linked)}"' in text
    _no_person(text)


def test_the_notices_feed_as_csv_json_and_atom(client, announced):
    live, upcoming = announced["live"], announced["upcoming"]
    expected = [live.reference, upcoming.reference]

    answer = client.get(reverse("public"), {"format": "csv"})
    assert answer["Content-Type"].startswith("text/csv") and "attachment" in answer["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert [row["reference"] for row in rows] == expected
    assert rows[0]["status"] == "live" and rows[0]["watchlist_size_band"] == "fewer than 100"
    assert rows[1]["watchlist_size_band"] == "not yet compiled"
    assert datetime.datetime.fromisoformat(rows[0]["start"]) == live.start

    document = client.get(reverse("public"), {"format": "json"}).json()
    assert [row["reference"] for row in document["deployments"]] == expected
    assert document["deployments"][1]["place"] == "Stratford" and document["deployments"][1]["status"] == "upcoming"
    assert document["method"].endswith(reverse("public-method"))

    answer = client.get(reverse("public"), {"format": "atom"})
    assert answer["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)  # noqa: S314  (our own feed, from the test client)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    datetime.datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry, reference in zip(entries, expected, strict=True):
        for required in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{ATOM}{required}"), required
        assert entry.find(f"{ATOM}link").get("href").endswith(f"{reverse('public')}#{reference}")
        assert reference in entry.findtext(f"{ATOM}summary")
    assert len({entry.findtext(f"{ATOM}id") for entry in entries}) == 2
    assert "Oxford Circus" in entries[0].findtext(f"{ATOM}title")

    for fmt in ("csv", "json", "atom"):
        _no_person(client.get(reverse("public"), {"format": fmt}).content.decode())


@pytest.mark.parametrize(
    ("size", "band"),
    [
        (None, "not yet compiled"),
        (0, "fewer than 100"),
        (99, "fewer than 100"),
        (100, "100 to 999"),
        (999, "100 to 999"),
        (1_000, "1,000 to 4,999"),
        (4_999, "1,000 to 4,999"),
        (5_000, "5,000 to 9,999"),
        (9_999, "5,000 to 9,999"),
        (10_000, "10,000 or more"),
        (17_000, "10,000 or more"),
    ],
)
def test_a_watchlist_size_falls_in_one_band(size, band):
    assert reports.size_band(size) == band


def test_the_index_reads_in_a_fixed_number_of_queries(
    client, announced, actors, documents, now, django_assert_num_queries
):
    for day in range(10, 16):
        more = plan_ahead(
            actors.officer, documents, start=now + datetime.timedelta(days=day), location_name=f"Place {day}"
        )
        deployments.publish_notice(actors.officer, more, reference="Force website")
    with django_assert_num_queries(1):  # one query however many are announced: nothing per row
        assert client.get(reverse("public")).status_code == 200


# --- A completed deployment's report ----------------------------------------------------------------------------------


def test_the_report_gives_the_figures_the_records_hold(client, reported, django_assert_max_num_queries):
    figures = PublishedFigures.objects.get(deployment=reported)
    assert (figures.faces_processed, figures.alerts, figures.true_alerts, figures.false_alerts) == (3, 2, 1, 1)
    assert (figures.engagements, figures.arrests, figures.other_outcomes) == (2, 1, 0)
    engine = Alert.objects.filter(deployment=reported).values_list("engine", flat=True).first()
    url = reverse("public-report", args=[reported.reference])
    with django_assert_max_num_queries(2):  # the deployment with its figures and list size; the engines
        page = client.get(url)
    assert page.status_code == 200
    text = _public_part(page.content.decode())
    row = r'<tr data-figure="([a-z_]+)"><th scope="row"><a href="[^"]+">[^<]+</a></th><td>([^<]*)'
    cells = dict(re.findall(row, text))
    assert cells.pop("duration").startswith("4 h 1 min (live ")
    assert cells == {
        "faces_processed": "3",
        "alerts": "2",
        "true_alerts": "1",
        "false_alerts": "1",
        "engagements": "2",
        "arrests": "1",
        "other_outcomes": "0",
        "watchlist_size": "1",
        "threshold": "0.600",
        "engine": engine,
    }
    assert engine  # the engine in use names itself on every alert and receipt
    assert "Oxford Circus" in text and "Crime hotspot and its access routes" in text
    _no_person(text)

    row = next(csv.DictReader(io.StringIO(client.get(url, {"format": "csv"}).content.decode())))
    document = client.get(url, {"format": "json"}).json()
    for record in (row, document):
        assert str(record["faces_processed"]) == "3" and str(record["false_alerts"]) == "1"
        assert str(record["arrests"]) == "1" and str(record["watchlist_size"]) == "1"
        assert record["threshold"] == "0.600" and str(record["duration_minutes"]) == "241"
    assert row["engines"] == engine and document["engines"] == [engine]
    assert document["reference"] == reported.reference and document["method"].endswith(reverse("public-method"))
    _no_person(json.dumps(document) + json.dumps(row))


def test_a_purged_list_keeps_its_size_from_its_manifest(client, reported):
    """The deployment over, its list's entries are destroyed: the manifest's count, kept by PostgreSQL, is the size."""
    watchlists.sweep(now=reported.end + datetime.timedelta(days=3))  # expired at its end, purged a day later
    manifest = Manifest.objects.get(watchlist=reported.watchlist)
    assert not Entry.objects.filter(watchlist=reported.watchlist).exists()
    assert manifest.listed_count == len(manifest.data["listed"]) == 1
    report = client.get(reverse("public-report", args=[reported.reference]), {"format": "json"}).json()
    assert report["watchlist_size"] == 1
    (row,) = csv.DictReader(io.StringIO(client.get(reverse("public-deployments"), {"format": "csv"}).content.decode()))
    assert row["watchlist_size"] == "1"


def test_a_deployment_that_processed_no_face_names_no_engine(client, live):
    deployments.complete(live, now=live.end + datetime.timedelta(minutes=1))
    page = client.get(reverse("public-report", args=[live.reference])).content.decode()
    assert re.search(r'<tr data-figure="engine">.*?<td>no faces processed</td>', page)
    assert client.get(reverse("public-report", args=[live.reference]), {"format": "json"}).json()["engines"] == []


def test_only_a_completed_deployment_has_a_report(client, announced):
    for deployment in announced.values():  # live, planned, announced, cancelled
        url = reverse("public-report", args=[deployment.reference])
        assert client.get(url).status_code == 404, deployment.state
        assert client.get(url, {"format": "json"}).status_code == 404, deployment.state
    assert client.get(reverse("public-report", args=["LFR-1999-0001"])).status_code == 404


def test_figures_carry_thousands_separators_everywhere(client, reported):
    # The system's counts, as if the deployment had processed a busy day's frames (nobody types a figure).
    deployments.publish_figures(
        reported, faces_processed=1_234_567, alerts=2_345, true_alerts=2_000, false_alerts=12, engagements=1_500,
        arrests=1_001, other_outcomes=400,
    )  # fmt: skip
    year = timezone.localtime(reported.start).year
    report = client.get(reverse("public-report", args=[reported.reference])).content.decode()
    for shown in ("1,234,567", "2,345", "2,000", "1,500", "1,001"):
        assert f"<td>{shown}</td>" in report, shown
    completed = client.get(reverse("public-deployments")).content.decode()
    assert "<td>1,234,567</td>" in completed and "<td>2,345</td>" in completed and "<td>1,001</td>" in completed
    assert f'href="{reverse("public-report", args=[reported.reference])}"' in completed
    annual = client.get(reverse("public-year", args=[year])).content.decode()
    assert "<td>1,234,567</td>" in annual and "<td>1,001</td>" in annual
    years = client.get(reverse("public-annual")).content.decode()
    assert "<td>1,234,567</td>" in years
    # The files keep plain numbers, for a spreadsheet to read.
    assert (
        client.get(reverse("public-report", args=[reported.reference]), {"format": "json"}).json()["faces_processed"]
        == 1_234_567
    )


# --- Annual reports ---------------------------------------------------------------------------------------------------


def test_the_annual_report_sums_the_figures_by_month_and_place_type(client, reported, django_assert_max_num_queries):
    figures = PublishedFigures.objects.get(deployment=reported)
    start = timezone.localtime(reported.start)
    url = reverse("public-year", args=[start.year])
    with django_assert_max_num_queries(2):  # whether the year is reported; its deployments with their figures
        page = client.get(url)
    text = _public_part(page.content.decode())
    assert text.count('<svg class="chart"') == 4 and "<script" not in text
    assert 'role="img"' in text and f"{start:%B}" in text
    assert f'href="{reverse("public-report", args=[reported.reference])}"' in text
    _no_person(text)

    months = {
        row["month"]: row for row in csv.DictReader(io.StringIO(client.get(url, {"format": "csv"}).content.decode()))
    }
    assert len(months) == 12
    month = months[f"{start:%Y-%m}"]
    assert (month["deployments"], month["faces_processed"], month["alerts"]) == ("1", "3", "2")
    assert (month["true_alerts"], month["false_alerts"], month["engagements"], month["arrests"]) == ("1", "1", "2", "1")
    assert sum(int(row["faces_processed"]) for row in months.values()) == figures.faces_processed

    document = client.get(url, {"format": "json"}).json()
    assert document["totals"]["faces_processed"] == figures.faces_processed
    assert document["totals"]["false_alerts"] == figures.false_alerts and document["totals"]["arrests"] == 1
    hotspot = next(row for row in document["place_types"] if row["place_type"].startswith("Crime hotspot"))
    assert (hotspot["deployments"], hotspot["alerts"]) == (1, 2)
    assert [row["reference"] for row in document["deployments"]] == [reported.reference]

    years = client.get(reverse("public-annual")).content.decode()
    assert f'href="{url}"' in years


def test_the_foi_pack_is_a_zip_of_csvs(client, reported):
    year = timezone.localtime(reported.start).year
    answer = client.get(reverse("public-foi-pack", args=[year]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as pack:
        names = set(pack.namelist())
        assert names == {
            f"lfr-{year}/{name}" for name in ("README.txt", "by-month.csv", "by-place-type.csv", "deployments.csv")
        }
        read = {name.split("/")[1]: pack.read(name).decode() for name in names}
    month = next(
        row
        for row in csv.DictReader(io.StringIO(read["by-month.csv"]))
        if row["month"] == f"{timezone.localtime(reported.start):%Y-%m}"
    )
    assert (month["deployments"], month["faces_processed"], month["false_alerts"], month["arrests"]) == (
        "1",
        "3",
        "1",
        "1",
    )
    places = {row["place_type"]: row for row in csv.DictReader(io.StringIO(read["by-place-type.csv"]))}
    assert set(places) == set(LocationType.labels)
    assert places["Crime hotspot and its access routes"]["alerts"] == "2"
    (deployment,) = csv.DictReader(io.StringIO(read["deployments.csv"]))
    assert deployment["reference"] == reported.reference and deployment["threshold"] == "0.600"
    assert "/public/method/" in read["README.txt"]
    _no_person("".join(read.values()))


# --- The method page: every figure's label leads to how it is derived -------------------------------------------------


def test_every_figure_links_to_its_section_of_the_method_page(client, reported, announced):
    method = client.get(reverse("public-method"))
    assert method.status_code == 200
    sections = set(re.findall(r'<section class="card method" id="([a-z-]+)">', method.content.decode()))
    assert {"faces-processed", "alerts", "true-alerts", "false-alerts", "engagements", "arrests", "other-outcomes",
            "watchlist-size", "threshold", "engine", "duration", "size-bands"} <= sections  # fmt: skip
    year = timezone.localtime(reported.start).year
    pages = [
        reverse("public"),
        reverse("public-deployments"),
        reverse("public-report", args=[reported.reference]),
        reverse("public-annual"),
        reverse("public-year", args=[year]),
    ]
    linked = set()
    for path in pages:
        linked |= set(re.findall(rf'href="{reverse("public-method")}#([a-z-]+)"', client.get(path).content.decode()))
    assert linked <= sections, linked - sections
    assert {"faces-processed", "false-alerts", "watchlist-size", "size-bands", "engine", "duration"} <= linked


# --- Hostile input ----------------------------------------------------------------------------------------------------


def test_hostile_input_is_a_clear_4xx_never_a_500(client, reported):
    year = timezone.localtime(reported.start).year
    report = reverse("public-report", args=[reported.reference])
    not_found = [
        "/public/annual/abcd/",
        "/public/annual/0/",
        "/public/annual/99999/",
        f"/public/annual/{year - 1}/",  # before the first completed deployment
        f"/public/annual/{timezone.localdate().year + 1}/",
        "/public/annual/99999999999999999999999999/",
        "/public/annual/99999/foi-pack.zip",
        "/public/annual/-1/",
        "/public/deployments/LFR-9999-0001/",
        "/public/deployments/%3Cscript%3E/",
        "/public/deployments/../../admin/",
    ]
    for path in not_found:
        assert client.get(path).status_code == 404, path
    for path in (reverse("public"), reverse("public-deployments"), report, reverse("public-year", args=[year])):
        for fmt in ("xml", "pdf", "", "CSV", "atom' OR 1=1"):
            answer = client.get(path, {"format": fmt})
            assert answer.status_code == 400, (path, fmt)
            assert "Unknown format" in answer.content.decode()
    assert client.get(report, {"format": "atom"}).status_code == 400  # the feed is the notices' only
    for path in (reverse("public"), report, reverse("public-method"), reverse("public-foi-pack", args=[year])):
        assert client.post(path).status_code == 405, path
        assert client.head(path).status_code == 200, path


def test_with_nothing_completed_there_is_no_annual_report(client):
    assert client.get(reverse("public-annual")).status_code == 200
    assert client.get(reverse("public-year", args=[timezone.localdate().year])).status_code == 404


def test_the_completed_deployments_keep_their_csv(client, reported):
    rows = list(
        csv.DictReader(io.StringIO(client.get(reverse("public-deployments"), {"format": "csv"}).content.decode()))
    )
    assert [row["reference"] for row in rows] == [reported.reference]
    assert rows[0]["faces_processed"] == "3" and rows[0]["watchlist_size"] == "1" and rows[0]["false_alerts"] == "1"
