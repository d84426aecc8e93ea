"""The pages and the API: the unit only (403 with the reason for everyone else), every read logged with its reason,
deadlines shown in London time, a completed case without forms, the same guarded steps over HTTP."""

import datetime

import pytest
from django.urls import reverse

from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.disclosures import services
from apps.disclosures.choices import Stage

from .conftest import LONDON, REASON, decided, right_to_ask, undertaking

pytestmark = pytest.mark.django_db


def _pages(case):
    return [
        reverse("disclosures:cases"),
        reverse("disclosures:open"),
        reverse("disclosures:case", args=[case.pk]),
        reverse("disclosures:forum", args=[case.pk]),
        reverse("disclosures:disclosure", args=[case.pk]),
        reverse("disclosures:letter", args=[case.pk]),
    ]


def _consultations(case):
    return Event.objects.filter(
        action=CONSULTATION_ACTION, target_type="disclosures.disclosurecase", target_id=str(case.pk)
    )


def test_officers_outside_the_unit_get_403_on_every_page(client, unit, actors):
    case = right_to_ask(unit.pc)
    for outsider in (actors.officer, actors.commander, actors.compiler, actors.retail, actors.oversight, actors.admin):
        client.force_login(outsider)
        for url in _pages(case):
            response = client.get(url, {"reason": REASON})
            assert response.status_code == 403, (outsider, url)
        for act in ("check", "complete-checks", "meeting", "disclose", "issue-letter", "decide-extension"):
            assert client.post(reverse("disclosures:act", args=[case.pk, act]), {"reason": REASON}).status_code == 403
    client.force_login(actors.officer)
    refused = client.get(reverse("disclosures:case", args=[case.pk]), {"reason": REASON})
    assert b"Public Protection Unit" in refused.content
    assert not _consultations(case).exists()


def test_officers_outside_the_unit_get_403_on_every_endpoint(api, unit, actors):
    case = right_to_ask(unit.pc)
    base = f"/api/disclosures/cases/{case.pk}/"
    for outsider in (actors.officer, actors.commander, actors.compiler, actors.retail, actors.oversight):
        client = api(outsider)
        assert client.get("/api/disclosures/cases/").status_code == 403
        refused = client.get(base, HTTP_X_ACCESS_REASON=REASON)
        assert refused.status_code == 403
        for action in ("checks", "complete-checks", "meeting", "disclosure", "letter", "extensions"):
            assert client.post(f"{base}{action}/", {}, format="json").status_code == 403
        assert client.post("/api/disclosures/cases/", {}, format="json").status_code == 403
        assert client.post("/api/disclosures/cases/from-alert/", {"alert": 1}, format="json").status_code == 403
    assert "Public Protection Unit" in api(actors.officer).get(base, HTTP_X_ACCESS_REASON=REASON).json()["detail"]
    assert not _consultations(case).exists()


def test_every_page_read_of_a_case_is_logged_with_its_reason(client, unit):
    case = right_to_ask(unit.pc)
    client.force_login(unit.pc2)
    asked = client.get(reverse("disclosures:case", args=[case.pk]))
    assert b"Why are you consulting this record?" in asked.content and b"Jane Applicant" not in asked.content
    assert not _consultations(case).exists()
    page = client.get(reverse("disclosures:case", args=[case.pk]), {"reason": REASON})
    assert b"Jane Applicant" in page.content
    for name in ("disclosures:forum", "disclosures:disclosure", "disclosures:letter"):
        assert client.get(reverse(name, args=[case.pk])).status_code == 200  # the reason carries over, logged again
    logged = _consultations(case)
    assert logged.count() == 4 and set(logged.values_list("reason", flat=True)) == {REASON}
    assert set(logged.values_list("actor_username", flat=True)) == {"ppu-pc2"}


def test_every_api_read_of_a_case_is_logged_with_its_reason(api, unit, actors):
    case = right_to_ask(unit.pc)
    for reader in (unit.pc2, actors.privacy):
        client = api(reader)
        assert client.get(f"/api/disclosures/cases/{case.pk}/").status_code == 400
        read = client.get(f"/api/disclosures/cases/{case.pk}/", HTTP_X_ACCESS_REASON=REASON)
        assert read.status_code == 200 and read.json()["applicant_name"] == "Jane Applicant"
    listed = api(unit.pc2).get("/api/disclosures/cases/").json()["results"]
    assert listed[0]["reference"] == case.reference and "applicant_name" not in listed[0]
    logged = _consultations(case)
    assert logged.count() == 2 and set(logged.values_list("reason", flat=True)) == {REASON}
    assert set(logged.values_list("actor_username", flat=True)) == {"ppu-pc2", "privacy"}


def test_the_case_and_the_list_show_the_deadlines_in_london_time_and_flag_overdue(client, unit):
    old = right_to_ask(unit.pc, contact_at=datetime.datetime(2026, 3, 20, 10, 0, tzinfo=LONDON))
    fresh = right_to_ask(unit.pc)
    client.force_login(unit.pc)
    page = client.get(reverse("disclosures:case", args=[old.pk]), {"reason": REASON}).content.decode()
    assert "Sat 21 Mar 2026 10:00" in page and "Mon 30 Mar 2026 10:00" in page and "Mon 4 May 2026 10:00" in page
    assert 'id="overdue-flag"' in page
    listing = client.get(reverse("disclosures:cases")).content.decode()
    assert listing.index(old.reference) < listing.index(fresh.reference)  # the next deadline first
    row = listing[listing.rindex("<tr", 0, listing.index(f'data-case="{old.reference}"')) :]
    row = row[: row.index("</tr>")]
    assert (
        "overdue" in row[: row.index(">")]
        and "OVERDUE" in row
        and "21 Mar 2026 10:00" in row
        and "4 May 2026 10:00" in row
    )
    fresh_row = listing[listing.index(f'data-case="{fresh.reference}"') - 10 :]
    assert "OVERDUE" not in fresh_row[: fresh_row.index("</tr>")]
    assert "Jane Applicant" not in listing and "John Subject" not in listing


def test_privacy_officers_audit_but_never_change(client, unit, actors):
    case = right_to_ask(unit.pc)
    client.force_login(actors.privacy)
    page = client.get(reverse("disclosures:case", args=[case.pk]), {"reason": "Quarterly audit of disclosures"})
    assert page.status_code == 200 and b'id="check-form"' not in page.content
    posted = client.post(
        reverse("disclosures:act", args=[case.pk, "check"]), {"kind": "national_systems", "result": "No"}
    )
    assert posted.status_code == 403 and not case.checks.exists()
    assert client.get(reverse("disclosures:statistics")).status_code == 200


def test_a_completed_case_page_shows_no_form_and_the_api_answers_409(client, api, unit):
    case = right_to_ask(unit.pc)
    decided(unit.pc, case)
    undertaking(unit.pc, case)
    services.record_disclosure(unit.pc, case, content="Told her of the convictions in person", in_person=True)
    services.issue_letter(unit.pc, case)
    client.force_login(unit.pc)
    for name in ("disclosures:case", "disclosures:forum", "disclosures:disclosure", "disclosures:letter"):
        content = client.get(reverse(name, args=[case.pk]), {"reason": REASON}).content.decode()
        assert f'action="/disclosures/{case.pk}/' not in content and 'id="locked"' in content, name
    letter = client.get(reverse("disclosures:letter", args=[case.pk]), {"reason": REASON}).content.decode()
    assert "Dear Jane Applicant" in letter and "locked as issued" in letter
    issued = case.letters.get()
    printable = client.get(reverse("disclosures:letter", args=[case.pk]), {"print": issued.pk}).content.decode()
    assert issued.body in printable and "masthead" not in printable
    response = api(unit.pc).post(
        f"/api/disclosures/cases/{case.pk}/checks/", {"kind": "local_systems", "result": "Nothing more"}, format="json"
    )
    assert response.status_code == 409 and "locked" in response.json()["detail"]


def test_the_api_walks_a_case_and_guards_each_step(api, unit):
    client = api(unit.pc)
    opened = client.post(
        "/api/disclosures/cases/",
        {
            "route": "right_to_ask",
            "contact_method": "telephone",
            "contact_at": "2026-03-20T10:00:00Z",
            "applicant_name": "Jane Applicant",
            "applicant_safe_contact": "Mobile, evenings only",
            "subject_name": "John Subject",
            "subject_relationship": "Mother's partner",
            "children": [{"name": "A.", "carer_knows": "yes"}],
        },
        format="json",
    )
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert body["checks_due_at"].startswith("2026-03-21T10:00") and body["overdue"] is True
    base = f"/api/disclosures/cases/{body['id']}/"
    early = client.post(
        f"{base}disclosure/", {"content": "Told her everything we hold", "in_person": True}, format="json"
    )
    assert early.status_code == 409 and "forum decision" in early.json()["detail"]
    for kind in ("national_systems", "sex_offender_register"):
        assert client.post(f"{base}checks/", {"kind": kind, "result": "Held"}, format="json").status_code == 200
    assert client.post(f"{base}complete-checks/").json()["stage"] == Stage.CHECKED
    assert client.post(f"{base}meeting/", {"identity_verified_with": "Passport"}, format="json").status_code == 200
    risk = {
        "risk_level": "high",
        "assessment": "Unsupervised access to the child",
        "has_child_sexual_offence_convictions": True,
    }
    assert client.post(f"{base}risk-assessment/", risk, format="json").json()["stage"] == Stage.ASSESSED
    forum = {
        "forum": "multi_agency",
        "attendees": "Police; children's services",
        "decision": "disclose",
        "rationale": "Presumption applies; necessary and proportionate.",
        "necessary_and_proportionate": True,
    }
    assert client.post(f"{base}forum-decision/", forum, format="json").json()["stage"] == Stage.TO_DISCLOSE
    refused = {
        "recipient_name": "Jane Applicant",
        "recipient_relationship": "Mother",
        "recipient_is_applicant": True,
        "warning_given": True,
        "signed": False,
    }
    assert client.post(f"{base}undertaking/", refused, format="json").json()["stage"] == Stage.RETURNED
    extension = client.post(
        f"{base}extensions/", {"days": 10, "reason": "The forum sits again next week"}, format="json"
    )
    assert extension.status_code == 201
    decide = f"{base}extensions/{extension.json()['id']}/decide/"
    assert api(unit.pc2).post(decide, {"approve": True}, format="json").status_code == 403
    assert api(unit.sergeant).post(decide, {"approve": True}, format="json").json()["state"] == "approved"
    assert client.get(base, {"reason": REASON}).json()["extension_days"] == 10


def test_statistics_count_cases_and_draw_charts_without_script(client, unit, actors):
    right_to_ask(unit.pc, contact_at=datetime.datetime.now(LONDON) - datetime.timedelta(days=3))
    done = right_to_ask(unit.pc)
    decided(unit.pc, done)
    undertaking(unit.pc, done)
    services.record_disclosure(unit.pc, done, content="Told her of the convictions in person", in_person=True)
    services.issue_letter(unit.pc, done)
    client.force_login(unit.pc)
    page = client.get(reverse("disclosures:statistics")).content.decode()
    own = page.split("<main>", 1)[1]  # the page's own part: the charts need no script (base.html loads govern.js)
    assert '<svg id="monthly-chart"' in own and '<svg id="stage-chart"' in own and "<script" not in own
    assert 'data-figure="applications">2<' in page and 'data-figure="disclosures">1<' in page
    assert 'data-figure="overdue"><strong class="flag">1<' in page
    client.force_login(actors.officer)
    assert client.get(reverse("disclosures:statistics")).status_code == 403


def test_the_api_is_documented_and_overdue_cases_are_listed_without_names(client, unit):
    from io import StringIO

    from django.core.management import call_command

    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/disclosures/cases/{id}/undertaking/", "/api/disclosures/cases/from-alert/", "X-Access-Reason"):
        assert path in schema
    late = right_to_ask(unit.pc, contact_at=datetime.datetime.now(LONDON) - datetime.timedelta(days=2))
    right_to_ask(unit.pc)
    out = StringIO()
    call_command("disclosures_overdue", stdout=out)
    assert late.reference in out.getvalue() and "1 overdue case(s)." in out.getvalue()
    assert "Jane" not in out.getvalue() and "John" not in out.getvalue()
