"""Real recognition on the dlib engine, through the pages (issue 24): a compiler lists Barack Obama, enrolled from one
public-domain photograph (apps/matching/demo_faces/SOURCES.md); a commander approves the list and authorises the
deployment; an officer puts it live; the van's camera, with a credential the commander issued on the pages, posts a
frame holding another photograph of him, which raises an alert the officer sees (with its score) and judges; a frame
holding Joe Biden leaves a deletion receipt, and the queue's figures reconcile: faces = alerts + receipts.

Only the camera talks to the API (as a van does); everything people do is done on the pages. Scores are in
docs/journeys.md ("Real recognition on dlib"); they are shown, never asserted as thresholds.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.services import accounts
from apps.deployments import services
from apps.deployments.choices import AssetKind, DeploymentState, DocumentKind
from apps.deployments.models import Deployment
from apps.matching.choices import AlertState
from apps.matching.models import Alert, DeletionReceipt
from apps.matching.services import engine_approval
from apps.watchlists.choices import LegalBasis
from apps.watchlists.services import custody
from govern.roles import Rank, Role
from tests.matching.test_real_faces import dlib, dlib_engine, frame, photo  # noqa: F401 (fixtures)

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"
THRESHOLD = Decimal("0.900")  # the dlib demo's threshold (README, "Face recognition weights")


@pytest.fixture
def force(transactional_db, dlib, settings):  # noqa: F811
    """The people, Obama's custody record from obama.jpg, current documents, a van and the dlib engine approved, at
    the configured threshold of 0.900: what a force has before the day's list is compiled."""
    settings.MATCH_THRESHOLD = THRESHOLD
    settings.FACE_UNCALIBRATED = False
    compiler = accounts.create_user(None, "analyst", PASSWORD, roles=[Role.WATCHLIST_COMPILER])
    accounts.create_user(None, "pc", PASSWORD, roles=[Role.OFFICER], rank=Rank.CONSTABLE)
    supt = accounts.create_user(None, "supt", PASSWORD, roles=[Role.AUTHORISING_OFFICER], rank=Rank.SUPERINTENDENT)
    dpo = accounts.create_user(None, "e2e-dpo", "not-used-1234567", roles=[Role.PRIVACY_OFFICER])
    obama = custody.create_subject(
        compiler,
        family_name="Obama",
        given_names="Barack",
        date_of_birth=datetime.date(1961, 8, 4),
        pnc_id="61/000044A",
    )
    custody.upload_image(
        compiler,
        obama,
        photo("obama"),
        captured_on=datetime.date(2026, 1, 5),
        source_system="Public-domain test photo",
        legal_basis=LegalBasis.OTHER_LAWFUL,
        legal_basis_note="Test fixture: US government portrait (apps/matching/demo_faces/SOURCES.md)",
    )
    for kind in DocumentKind.values:
        document = services.record_document(
            dpo,
            kind=kind,
            version="1",
            title=kind.upper(),
            review_by=timezone.localdate() + datetime.timedelta(days=60),
        )
        services.approve_document(supt, document)
    services.register_asset(supt, kind=AssetKind.VAN, identifier="LFR-VAN-7")
    engine_approval.approve_engine(supt, reason="dlib ResNet approved for the browser test.", countersigned_by=dpo)


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _post_frame(page, base: str, credential: str, picture: bytes) -> dict:
    """The van's camera sends a frame to the capture endpoint with its credential, as a camera does."""
    headers = {"Authorization": f"Camera {credential}", "Content-Type": "image/jpeg"}
    response = page.request.post(f"{base}/api/matching/capture/", data=picture, headers=headers, timeout=300_000)
    assert response.status == 201, response.text()
    return response.json()


def test_obama_listed_alerts_biden_leaves_a_receipt_on_dlib(live_server, browser, force, screenshots):
    base = live_server.url
    # Minutes, as the pages' date fields take them; the day's operation has just begun.
    now = timezone.localtime().replace(second=0, microsecond=0)
    page = browser.new_page()

    sign_in(page, base, "analyst", PASSWORD)
    page.click("text=Watchlists")
    page.click("text=New watchlist")
    page.fill("#id_purpose", "LFR at Oxford Circus today: people wanted by the courts")
    page.fill("#id_intended_start", _local(now - datetime.timedelta(minutes=10)))
    page.fill("#id_intended_end", _local(now + datetime.timedelta(hours=5)))
    page.click("main button[type=submit]")
    page.fill("#id_reason", "Compiling today's list")
    page.click("main button[type=submit]")
    page.click("text=Add a person")
    page.fill("#q", "obama")
    page.click("form.filters button")
    page.check("input[name=pick]")
    page.select_option("#id_category", "wanted_by_courts")
    page.fill("#id_justification", "Warrant issued by Westminster Magistrates' Court for failing to appear.")
    page.click("#add-entry")
    page.click("#submit-for-approval")
    assert page.locator("#state").inner_text() == "Submitted for approval"
    page.click("text=Sign out")

    sign_in(page, base, "supt", PASSWORD)
    page.click("text=Approval queue")
    page.click("#approval-queue a")
    page.fill("#id_reason", "Reviewing for authorisation")
    page.click("main button[type=submit]")
    page.check("#id_decision_0")
    page.click("#decide")
    page.click("#confirm")  # approving enrols the list on the engine in use: dlib, from obama.jpg
    assert page.locator("#state").inner_text() == "Approved"
    page.click("text=Sign out")

    sign_in(page, base, "pc", PASSWORD)
    page.click("main >> text=Deployments")
    page.click("text=Plan a deployment")
    page.fill("#id_location_name", "Oxford Circus")
    page.fill("#id_address", "Oxford Street, London W1")
    page.fill("#id_postcode", "W1B 3AG")
    page.select_option("#id_location_type", "crime_hotspot")
    page.fill("#id_grounds", "Robbery hotspot: 41 robberies in 28 days around the station exits.")
    page.fill("#id_start", _local(now - datetime.timedelta(minutes=5)))
    page.fill("#id_end", _local(now + datetime.timedelta(hours=4)))
    page.select_option("#id_watchlist", index=1)  # the one approved list
    page.fill("#id_threshold", str(THRESHOLD))
    page.check("text=LFR van LFR-VAN-7")
    for label in (
        "Data protection impact assessment v1",
        "Equality impact assessment v1",
        "Appropriate policy document v1",
    ):
        page.check(f"text={label}")
    page.check("input[name=team]")  # the constable works the deployment and judges its alerts
    page.click("#plan")
    page.click("#confirm")
    assert page.locator("#state").inner_text() == "Planned"
    deployment_url = page.url
    page.click("text=Sign out")

    sign_in(page, base, "supt", PASSWORD)
    page.goto(deployment_url)
    page.fill("#exempt_reason", "Critical threat: intelligence of a planned robbery at the station exits today.")
    page.click("text=Exempt (critical threat)")
    page.click("#authorise")
    page.click("#confirm")
    assert page.locator("#state").inner_text() == "Authorised"
    page.click("text=Vans and cameras")
    page.click("#assets a:has-text('Credentials')")
    page.click("#issue-form button")
    credential = page.locator("#secret").input_value()  # shown once: the van's camera is set up with it
    page.click("text=Sign out")

    sign_in(page, base, "pc", PASSWORD)
    page.goto(deployment_url)
    page.check("#checklist_signage_up")
    page.check("#checklist_leaflets_available")
    page.check("#checklist_briefing_done")
    page.click("#checklist-form button")
    page.click("#go-live")
    assert page.locator("#state").inner_text() == "Live", page.locator("ul.gate").inner_text()

    obama = _post_frame(page, base, credential, frame("obama2"))  # another photograph of him passes the van
    assert (obama["faces"], len(obama["alerts"]), obama["receipts"]) == (1, 1, 0)
    page.click("#alerts-link")
    page.fill("#id_reason", "Adjudicating alerts at the van")
    page.click("main button[type=submit]")
    card = page.locator("article.alert")
    assert card.get_attribute("data-state") == "pending"
    heading = card.locator("h2").inner_text()
    score = float(re.search(r"score (\d\.\d{3}) \(threshold 0\.900\)", heading).group(1))
    assert heading.startswith("OBAMA, Barack") and score >= float(THRESHOLD)  # seen: 0.966
    page.screenshot(path=str(screenshots / "dlib-alert-pending.png"), full_page=True)
    page.fill("form.judge input[name=reason]", "Same face: brow, nose and ears match the custody image")
    page.select_option("form.judge select[name=perceived_sex]", "male")
    page.check("form.judge input[name=match][value=yes]")
    page.click("form.judge button.judge")
    page.click("#confirm")
    assert page.locator("article.alert").get_attribute("data-state") == "confirmed"

    biden = _post_frame(page, base, credential, frame("biden"))  # someone not on the list passes the van
    assert (biden["faces"], biden["alerts"], biden["receipts"]) == (1, [], 1)
    page.reload()
    counts = page.locator("#alert-counts").inner_text()
    assert "Faces processed 2 = alerts 1 + deleted 1" in counts and "✔" in counts, counts
    assert page.locator("article.alert").count() == 1  # Biden's face was deleted at once: nothing to show

    alert, receipt = Alert.objects.get(), DeletionReceipt.objects.get()
    assert alert.state == AlertState.CONFIRMED and alert.engine.startswith("dlib-resnet-v1")
    assert receipt.best_score < float(THRESHOLD)  # seen: 0.808
    assert Deployment.objects.get().state == DeploymentState.LIVE
    print(f"dlib journey scores: Obama {alert.score:.3f}, Biden {receipt.best_score:.3f}")
