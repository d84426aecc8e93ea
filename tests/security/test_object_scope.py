"""Object-level scoping, the same on the API, the pages and the services: a compiler sees their own drafts (not
another compiler's), a retail partner only its own submissions, an officer only the alerts of deployments whose team
they are on. What is out of scope is not there (404), never a 403 that confirms it exists."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching import selectors
from apps.matching.models import Alert, SearchRequest
from apps.matching.services import alert_handling, live_capture, retrospective
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from govern.roles import Rank, Role

pytestmark = pytest.mark.django_db
REASON = "Checking what each person may see"


def _ids(response) -> set[int]:
    body = response.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


# --- A compiler's drafts ---------------------------------------------------------------------------------------------


@pytest.fixture
def lists(actors, make_user, draft, now):
    """The compiler's draft and a submitted list of theirs; another compiler, who drafts one of their own."""
    other = make_user("compiler2", Role.WATCHLIST_COMPILER)
    submitted = watchlists.create_watchlist(
        actors.compiler,
        purpose="A list already sent for approval",
        intended_start=now + datetime.timedelta(hours=6),
        intended_end=now + datetime.timedelta(hours=12),
        now=now,
    )
    Watchlist.objects.filter(pk=submitted.pk).update(state="submitted")  # its state is all that matters here
    theirs = watchlists.create_watchlist(
        other,
        purpose="The other compiler's draft",
        intended_start=now + datetime.timedelta(hours=6),
        intended_end=now + datetime.timedelta(hours=12),
        now=now,
    )
    return draft, submitted, theirs, other


def test_a_compiler_sees_their_own_drafts_and_no_one_elses_on_the_api(actors, api, lists):
    mine, submitted, theirs, other = lists
    seen = _ids(api(actors.compiler).get("/api/watchlists/watchlists/"))
    assert {mine.pk, submitted.pk} <= seen and theirs.pk not in seen
    assert _ids(api(other).get("/api/watchlists/watchlists/")) >= {theirs.pk, submitted.pk}
    assert mine.pk not in _ids(api(other).get("/api/watchlists/watchlists/"))
    assert api(actors.compiler).get(f"/api/watchlists/watchlists/{mine.pk}/").status_code == 200
    for path in ("", "entries/", "review/"):
        url = f"/api/watchlists/watchlists/{mine.pk}/{path}"
        assert api(other).get(url, {"reason": REASON}).status_code == 404, url
    refused = api(other).post(f"/api/watchlists/watchlists/{mine.pk}/submit/")
    assert refused.status_code == 404 and mine.reviews.count() == 0
    entry = mine.entries.get()
    assert api(other).get(f"/api/watchlists/entries/{entry.pk}/", {"reason": REASON}).status_code == 404
    # An authorising officer and an officer see no draft; a privacy officer sees every list.
    assert mine.pk not in _ids(api(actors.commander).get("/api/watchlists/watchlists/"))
    assert api(actors.commander).get(f"/api/watchlists/watchlists/{mine.pk}/").status_code == 404
    assert mine.pk not in _ids(api(actors.officer).get("/api/watchlists/watchlists/"))
    assert {mine.pk, theirs.pk} <= _ids(api(actors.privacy).get("/api/watchlists/watchlists/"))


def test_a_compiler_sees_their_own_drafts_and_no_one_elses_on_the_pages(actors, client, lists):
    mine, _submitted, theirs, other = lists
    client.force_login(other)
    page = client.get(reverse("watchlists:list")).content.decode()
    assert theirs.reference in page and mine.reference not in page
    for name in ("watchlists:detail", "watchlists:history", "watchlists:entry-add"):
        assert client.get(reverse(name, args=[mine.pk]), {"reason": REASON}).status_code == 404, name
    assert client.post(reverse("watchlists:submit", args=[mine.pk])).status_code == 404
    assert not Event.objects.filter(action="record.consulted", target_id=str(mine.pk)).exists()
    client.force_login(actors.compiler)
    assert mine.reference in client.get(reverse("watchlists:list")).content.decode()
    assert client.get(reverse("watchlists:detail", args=[mine.pk]), {"reason": REASON}).status_code == 200


def test_an_officer_sees_which_lists_exist_but_not_who_is_on_them(actors, api, client, submitted):
    watchlist, _review = submitted
    officer = api(actors.officer)
    assert officer.get(f"/api/watchlists/watchlists/{watchlist.pk}/").status_code == 200
    for path in ("entries/", "review/"):
        refused = officer.get(f"/api/watchlists/watchlists/{watchlist.pk}/{path}", {"reason": REASON})
        assert refused.status_code == 403, path
    client.force_login(actors.officer)
    assert client.get(reverse("watchlists:review", args=[watchlist.pk]), {"reason": REASON}).status_code == 403
    page = client.get(reverse("watchlists:detail", args=[watchlist.pk]), {"reason": REASON}).content.decode()
    assert "Example" not in page  # the listed person's name
    assert not Event.objects.filter(action="record.consulted", actor_username="officer").exclude(
        target_type="watchlists.watchlist"
    )


# --- A retail partner's submissions ----------------------------------------------------------------------------------


@pytest.fixture
def searches(actors, make_user, astronaut):
    other = make_user("retail2", Role.RETAIL_PARTNER)
    mine = retrospective.submit(actors.retail, [astronaut], incident_reference="CAD-1", crime_type="Theft",
                                sharing_agreement="DSA-1")  # fmt: skip
    theirs = retrospective.submit(other, [astronaut], incident_reference="CAD-2", crime_type="Theft",
                                  sharing_agreement="DSA-2")  # fmt: skip
    return mine, theirs


def test_a_retail_partner_sees_only_its_own_submissions_on_the_api(actors, api, searches):
    mine, theirs = searches
    retail = api(actors.retail)
    assert _ids(retail.get("/api/matching/searches/")) == {mine.pk}
    assert retail.get(f"/api/matching/searches/{mine.pk}/").status_code == 200
    assert retail.get(f"/api/matching/searches/{theirs.pk}/").status_code == 404
    assert retail.get(f"/api/matching/searches/{theirs.pk}/probes/", {"reason": REASON}).status_code == 404
    # Its own search's candidates are for police operators, never for the partner.
    assert retail.get(f"/api/matching/searches/{mine.pk}/probes/", {"reason": REASON}).status_code == 403
    probe = theirs.probes.get()
    assert retail.post(f"/api/matching/probes/{probe.pk}/choose/", {"subject": None, "note": "x" * 10},
                       format="json").status_code == 403  # fmt: skip
    assert _ids(api(actors.officer).get("/api/matching/searches/")) == {mine.pk, theirs.pk}


def test_a_retail_partner_sees_only_its_own_submissions_on_the_pages(actors, client, searches):
    mine, theirs = searches
    client.force_login(actors.retail)
    page = client.get(reverse("matching:searches")).content.decode()
    assert mine.reference in page and theirs.reference not in page
    assert client.get(reverse("matching:search", args=[mine.pk])).status_code == 200
    assert client.get(reverse("matching:search", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("matching:search-review", args=[mine.pk]), {"reason": REASON}).status_code == 403
    assert SearchRequest.objects.restrict(actors.retail, "view").count() == 1


# --- An officer and their deployment's alerts ------------------------------------------------------------------------


@pytest.fixture
def alert(live, vans, astronaut):
    return Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])


@pytest.fixture
def outsider_officer(make_user, live):
    """An officer of another unit, made after the deployment was planned: on no team."""
    return make_user("pc-elsewhere", Role.OFFICER, rank=Rank.CONSTABLE, unit="Response Team 7")


def test_an_officer_off_the_team_is_not_shown_the_alert_on_the_api(actors, api, live, alert, outsider_officer):
    outsider = api(outsider_officer)
    listed = outsider.get("/api/matching/alerts/", {"reason": REASON, "deployment": live.pk})
    assert listed.status_code == 200 and listed.json()["results"] == []
    assert outsider.get(f"/api/matching/alerts/{alert.pk}/", {"reason": REASON}).status_code == 404
    writes = {
        "adjudicate": {"match": True, "reason": "Same face, scar and ears"},
        "engage": {},
        "outcome": {"outcome": "arrest", "identity_check": "fingerprint", "stop_minutes": 12},
        "complaint": {"complaint_reference": "PSD-2026-0042"},
    }
    for action, body in writes.items():
        assert outsider.post(f"/api/matching/alerts/{alert.pk}/{action}/", body, format="json").status_code == 404
    alert.refresh_from_db()
    assert alert.state == "pending"
    # The empty list was a consultation too (logged as such); the alert itself was never read or judged.
    assert not Event.objects.filter(actor_username=outsider_officer.username, target_id=str(alert.pk)).exists()
    # The team's officer, the commander and the privacy officer see it.
    for person in (actors.officer, actors.commander, actors.privacy):
        assert _ids(api(person).get("/api/matching/alerts/", {"reason": REASON})) == {alert.pk}, person
    judged = api(actors.officer).post(
        f"/api/matching/alerts/{alert.pk}/adjudicate/", writes["adjudicate"], format="json"
    )
    assert judged.status_code == 200


def test_an_officer_off_the_team_is_not_shown_the_alert_on_the_pages(actors, client, live, alert, outsider_officer):
    client.force_login(outsider_officer)
    queue = reverse("matching:alerts", args=[live.pk])
    assert client.get(queue, {"reason": REASON}).status_code == 404
    assert client.get(reverse("matching:alert-image", args=[alert.pk, "probe"]), {"reason": REASON}).status_code == 404
    posted = client.post(reverse("matching:alert-act", args=[alert.pk, "judge"]), {"match": "yes", "reason": "Same"})
    assert posted.status_code == 404
    assert not Event.objects.filter(actor_username=outsider_officer.username).exclude(action__startswith="account.")
    client.force_login(actors.officer)
    assert client.get(queue, {"reason": REASON}).status_code == 200
    assert client.get(reverse("matching:alert-image", args=[alert.pk, "probe"]), {"reason": REASON}).status_code == 200


def test_the_services_refuse_an_officer_off_the_team(actors, alert, outsider_officer):
    with pytest.raises(PermissionDenied):
        alert_handling.adjudicate(outsider_officer, alert, match=True, reason="Same face, scar and ears")
    with pytest.raises(PermissionDenied):
        selectors.probe_image(outsider_officer, alert, REASON)
    with pytest.raises(PermissionDenied):
        alert_handling.place_hold(outsider_officer, alert, reason="Complaint received: keep as evidence")
    held = alert_handling.place_hold(actors.officer, alert, reason="Complaint received: keep as evidence")
    assert held.hold_by == actors.officer


def test_joining_the_team_shows_the_alerts_and_leaving_it_hides_them(actors, api, live, alert, outsider_officer):
    deployments.set_team(live.planned_by, live, [outsider_officer], reason="The next shift takes over")
    assert api(outsider_officer).get(f"/api/matching/alerts/{alert.pk}/", {"reason": REASON}).status_code == 200
    assert api(actors.officer).get(f"/api/matching/alerts/{alert.pk}/", {"reason": REASON}).status_code == 404
    assert Alert.objects.restrict(actors.officer, "view").count() == 0
    assert Alert.objects.restrict(actors.commander, "view").count() == 1


def test_a_case_is_opened_from_an_alert_only_by_the_units_officer_on_the_team(actors, client, live, alert, make_user):
    unit_officer = make_user("ppu-late", Role.OFFICER, rank=Rank.CONSTABLE, unit="Public Protection Unit")
    client.force_login(unit_officer)
    assert client.post(reverse("disclosures:open-from-alert", args=[alert.pk])).status_code == 404
