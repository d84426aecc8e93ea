"""The desk's pages: the list by due date with the overdue first, logging a request (an officer too), the request
page asking why it is consulted, a decision chosen by radios and confirmed before it is done, the pack download,
the menu and the home inbox; everyone else 403 with nothing written."""

import datetime

import pytest
from django.db.models import Q
from django.urls import reverse

from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.rights.choices import RequestKind
from apps.rights.models import RightsRequest
from apps.watchlists import selectors as watchlist_selectors
from apps.watchlists.models import Subject

from .conftest import LONDON, REASON, granted, logged, verified

pytestmark = pytest.mark.django_db

FORM = {
    "kind": "access",
    "channel": "post",
    "received_at": "2026-01-05T09:30",
    "requester_name": "Adam Example",
    "requester_contact": "12 High Street, London N1 1AA",
}


def test_the_desk_lists_the_overdue_first_without_names(client, desk):
    late = logged(desk.privacy, received_at=datetime.datetime(2025, 1, 2, 9, 0, tzinfo=LONDON))
    fresh = logged(desk.privacy)
    client.force_login(desk.privacy)
    page = client.get(reverse("rights:requests"))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index(late.reference) < body.index(fresh.reference)
    assert "Adam Example" not in body and "1 overdue" in body
    only_late = client.get(reverse("rights:requests"), {"overdue": "true"}).content.decode()
    assert late.reference in only_late and fresh.reference not in only_late
    assert client.get(reverse("rights:requests"), {"overdue": "ture"}).status_code == 400


def test_an_officer_logs_a_request_and_sees_no_more_of_it(client, actors):
    client.force_login(actors.officer)
    assert client.get(reverse("rights:log")).status_code == 200
    answer = client.post(reverse("rights:log"), FORM)
    assert answer.status_code == 302 and answer["Location"] == reverse("home")
    row = RightsRequest.objects.get()
    assert row.logged_by == actors.officer
    assert client.get(reverse("rights:requests")).status_code == 403
    assert client.get(reverse("rights:request", args=[row.pk]), {"reason": REASON}).status_code == 403


def test_bad_input_on_the_form_shows_every_error_and_logs_nothing(client, desk):
    client.force_login(desk.privacy)
    answer = client.post(reverse("rights:log"), {**FORM, "requester_name": "", "kind": "everything", "received_at": ""})
    assert answer.status_code == 200
    assert {"requester_name", "kind", "received_at"} <= set(answer.context["form"].errors)
    assert not RightsRequest.objects.exists()


def test_the_request_page_asks_why_and_logs_the_read(client, desk):
    row = logged(desk.privacy)
    client.force_login(desk.privacy)
    asked = client.get(reverse("rights:request", args=[row.pk]))
    assert b"Adam Example" not in asked.content
    shown = client.get(reverse("rights:request", args=[row.pk]), {"reason": REASON})
    assert b"Adam Example" in shown.content
    reads = Event.objects.filter(action=CONSULTATION_ACTION, target_type="rights.rightsrequest")
    assert reads.count() == 1 and reads.get().reason == REASON


def test_a_decision_is_confirmed_before_it_is_done(client, desk, gallery):
    adult, _ = gallery.adult
    row = verified(
        desk.privacy,
        logged(desk.privacy, kind=RequestKind.RESTRICTION, details="I contest the accuracy of my record"),
        adult,
    )
    act = reverse("rights:act", args=[row.pk, "decide"])
    client.force_login(desk.privacy)
    client.get(reverse("rights:request", args=[row.pk]), {"reason": REASON})
    page = client.get(reverse("rights:request", args=[row.pk]))
    assert b"another privacy officer decides" in page.content and b"decide-form" not in page.content
    client.force_login(desk.privacy2)
    assert b"decide-form" in client.get(reverse("rights:request", args=[row.pk]), {"reason": REASON}).content
    unchosen = client.post(act, {})
    assert unchosen.status_code == 302
    confirm = client.post(act, {"decision": "grant"})
    assert confirm.status_code == 200 and b"Confirm the decision" in confirm.content
    assert b"cannot be put on any watchlist" in confirm.content
    row.refresh_from_db()
    assert row.decision == "" and watchlist_selectors.restricted_subject_ids() == set()
    done = client.post(act, {"decision": "grant", "confirmed": "yes"})
    assert done.status_code == 302
    row.refresh_from_db()
    assert row.decision == "grant" and watchlist_selectors.restricted_subject_ids() == {adult.pk}


def test_the_logger_cannot_decide_even_by_posting(client, desk):
    row = verified(desk.privacy, logged(desk.privacy))
    client.force_login(desk.privacy)
    for step in ({"decision": "grant"}, {"decision": "grant", "confirmed": "yes"}):
        refused = client.post(reverse("rights:act", args=[row.pk, "decide"]), step, follow=True)
        assert b"another privacy officer decides" in refused.content and b"Confirm the decision" not in refused.content
    row.refresh_from_db()
    assert row.decision == ""


def test_the_pack_downloads_from_the_page(client, desk, gallery):
    row = granted(desk.privacy, desk.privacy2, logged(desk.privacy), gallery.adult[0])
    client.force_login(desk.privacy)
    pack = client.get(reverse("rights:pack", args=[row.pk]), {"reason": REASON})
    assert pack.status_code == 200 and pack["Content-Type"] == "application/zip"
    assert Event.objects.filter(action="rights_request.pack").count() == 1


def test_everyone_else_gets_403_and_nothing_is_written(client, desk, actors):
    row = logged(desk.privacy)
    written = Event.objects.filter(Q(target_type="rights.rightsrequest") | Q(action=CONSULTATION_ACTION))
    before = written.count()
    for someone in (actors.officer, actors.commander, actors.compiler, actors.oversight, actors.retail, actors.admin):
        client.force_login(someone)
        for url in (reverse("rights:requests"), reverse("rights:request", args=[row.pk]),
                    reverse("rights:pack", args=[row.pk])):  # fmt: skip
            assert client.get(url, {"reason": REASON}).status_code == 403, (someone, url)
        for act in ("link", "identity", "extend", "decide", "respond", "lift-restriction"):
            assert client.post(reverse("rights:act", args=[row.pk, act]), {"reason": REASON}).status_code == 403
    for someone in (actors.commander, actors.compiler, actors.oversight, actors.retail, actors.admin):
        client.force_login(someone)
        assert client.post(reverse("rights:log"), FORM).status_code == 403
    assert written.count() == before and RightsRequest.objects.count() == 1


def test_the_menu_and_the_inbox_offer_the_desk_to_privacy_officers(client, desk, actors):
    logged(desk.privacy, received_at=datetime.datetime(2025, 1, 2, 9, 0, tzinfo=LONDON))
    logged(desk.privacy, received_at=datetime.datetime.now(LONDON) - datetime.timedelta(days=27))
    client.force_login(desk.privacy)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("rights:requests")}"' in home
    assert "Data-subject requests past their time limit" in home and "Data-subject requests due within 7 days" in home
    client.force_login(actors.officer)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("rights:requests")}"' not in home and f'href="{reverse("rights:log")}"' in home


def test_an_erasure_granted_on_the_page_records_the_conviction_and_erases(client, desk, gallery):
    adult, _ = gallery.adult
    row = verified(desk.privacy, logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photograph"), adult)
    act = reverse("rights:act", args=[row.pk, "decide"])
    client.force_login(desk.privacy2)
    confirm = client.post(act, {"decision": "grant", "convicted": "no"})
    assert b"This cannot be undone" in confirm.content and b"not convicted" in confirm.content
    assert b'name="convicted" value="no"' in confirm.content
    assert client.post(act, {"decision": "grant", "convicted": "no", "confirmed": "yes"}).status_code == 302
    row.refresh_from_db()
    assert row.decision == "grant" and row.convicted is False and row.subject is None
    assert not Subject.objects.filter(pk=adult.pk).exists()
    page = client.get(reverse("rights:request", args=[row.pk]), {"reason": REASON})
    assert b"not convicted: their images are presumed to be deleted" in page.content
