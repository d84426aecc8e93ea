"""The permission matrix: every route of the API, the pages and the admin site, by every method, as every caller,
against the declaration in permission_table.py, on the real application and database.

One world is built per module (a live deployment with its team and an alert, yesterday's completed deployment, a
submitted watchlist, a retail partner's search, a Sarah's Law case with an extension awaiting a supervisor, a proposed
threshold change, an API token, a signed checkpoint), so every `{pk}` names a real object and a refusal is a refusal,
not a 404. Each request runs in a savepoint that is rolled back, so every cell sees the same world; writes send a
body that would be accepted. A refused request must change nothing: PostgreSQL's own count of the rows the
transaction inserted, updated or deleted (pg_stat_xact_user_tables, aborted savepoints included) is the same before
and after it. A read of personal data that is answered leaves exactly one consultation event, whichever surface
answered it, and the page and the API of the same read log it alike (both call the same selector).

The meta-tests hold the table to the routes: every route and every method its view answers is declared, and the
table names no route that is gone.
"""

import datetime
import io
import json
import re
from collections import Counter
from decimal import Decimal
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone
from PIL import Image

from tests.conftest import PASSWORD
from tests.matching_fixtures import astronaut_subject
from tests.oversight_fixtures import create_report
from tests.security import permission_table as table
from tests.security.permission_table import (
    ADMIN,
    ANONYMOUS,
    CALLERS,
    CAMERA,
    COMMANDER,
    COMPILER,
    NO_ROLE,
    OFFICER,
    OTHER_UNIT,
    OVERSIGHT,
    PRIVACY,
    RETAIL,
)
from tests.security.routes import METHODS, answered_methods, route_views, template
from tests.watchlist_fixtures import JUSTIFICATION, NEW_SUBJECT, compile_watchlist, make_jpeg, submit_and_approve

REASON = "Permission matrix: who may do what"
ROUTES = {**table.TABLE, **table.ADMIN_TABLE}
SIGN_IN_PAGES = ("/accounts/login/", "/admin/login/")
# pg_stat_xact_user_tables, asked by table: the view itself joins the catalogue on every call and takes seven
# times as long, which the matrix's thousands of requests would feel.
TABLES_SQL = (
    "SELECT array_agg(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'"
)
WRITES_SQL = (
    "SELECT table_oid::regclass::text, written FROM ("
    "SELECT table_oid, pg_stat_get_xact_tuples_inserted(table_oid) + pg_stat_get_xact_tuples_updated(table_oid)"
    " + pg_stat_get_xact_tuples_deleted(table_oid) AS written FROM unnest(%s::oid[]) AS table_oid) AS counts "
    "WHERE written > 0"
)
PARAMETER = re.compile(r"\{[a-z_]+\}")
# The world object each path parameter names, by the path before it.
TARGETS = {
    "/watchlists/": "watchlist",
    "/watchlists/images/": "image",
    "/watchlists/entries/": "entry",
    "/deployments/assets/": "van",
    "/deployments/documents/": "document",
    "/matching/assets/": "van",
    "/matching/credentials/": "credential",
    "/matching/watchlists/": "live_list",
    "/api/matching/watchlists/": "live_list",
    "/api/matching/credentials/": "credential",
    "/watchlists/subjects/": "subject",
    "/deployments/": "live",
    "/matching/deployments/": "live",
    "/matching/alerts/": "alert",
    "/matching/searches/": "search",
    "/disclosures/": "case",
    "/disclosures/from-alert/": "alert",
    "/oversight/deployments/": "live",
    "/oversight/alerts/": "alert",
    "/oversight/governance/": "change",
    "/api/accounts/users/": "officer",
    "/api/accounts/tokens/": "token",
    "/api/audit/events/": "event",
    "/api/audit/checkpoints/": "checkpoint",
    "/api/watchlists/subjects/": "subject",
    "/api/watchlists/images/": "image",
    "/api/watchlists/watchlists/": "watchlist",
    "/api/watchlists/entries/": "entry",
    "/api/watchlists/erasures/subjects/": "subject",
    "/api/watchlists/erasures/images/": "image",
    "/api/deployments/assets/": "van",
    "/api/deployments/documents/": "document",
    "/api/deployments/deployments/": "live",
    "/api/matching/alerts/": "alert",
    "/api/matching/captures/": "capture",
    "/api/matching/searches/": "search",
    "/api/matching/probes/": "probe",
    "/api/disclosures/cases/": "case",
    "/api/disclosures/cases/{pk}/extensions/": "extension",
    "/rights/": "rights_request",
    "/api/rights/requests/": "rights_request",
    "/api/oversight/deployments/": "live",
    "/api/oversight/alerts/": "alert",
    "/api/oversight/changes/": "change",
    "/public/deployments/": "completed",
    "/public/annual/": "year",
    "/admin/r/": "user_type",
    "/admin/r/{content_type_id}/": "officer",
    "/admin/accounts/user/": "officer",
    "/admin/accounts/apitoken/": "token",
    "/admin/accounts/signinlockout/": "lockout",
    "/admin/accounts/accountchange/": "account_change",
}


# --- The world --------------------------------------------------------------------------------------------------------


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


class World:
    """The callers' sessions and the objects the paths name."""

    def __init__(self):
        self.users, self.sessions, self.ids = {}, {}, {}
        # One client for every request: a new one loads the middleware again, and WhiteNoise reads every static file.
        self.client = Client(raise_request_exception=False)
        self.written = Counter()  # rows written by the transaction so far, after the last request

    def path(self, key: str) -> str:
        """The key with each {parameter} replaced by the id of the object the path before it names."""

        def object_id(match) -> str:
            before = key[: match.start()]
            assert before in TARGETS, f"No world object for {match.group()} in {key}"
            return str(self.ids[TARGETS[before]])

        return PARAMETER.sub(object_id, key)


def _build_world(now) -> World:
    """Everything the paths name, made through the services as the people concerned would make it."""
    from skimage import data

    from apps.accounts.models import SignInLockout
    from apps.accounts.services import accounts
    from apps.audit import services as audit
    from apps.audit.models import Event
    from apps.deployments import services as deployments
    from apps.deployments.choices import AssetKind, DocumentKind
    from apps.disclosures import services as disclosures
    from apps.disclosures.choices import ContactMethod, Route, public_protection_unit
    from apps.matching.services import engine_approval, enrolment, live_capture, retrospective
    from apps.oversight import services as oversight
    from apps.watchlists.choices import LegalBasis
    from apps.watchlists.services import custody, watchlists
    from govern.roles import Rank, Role
    from tests.deployment_fixtures import EARLIER, go_live, plan_deployment

    world = World()
    ppu = public_protection_unit()

    def user(username, *roles, rank="", unit="Response Team 3"):
        return accounts.create_user(
            None, username, PASSWORD, roles=list(roles), rank=rank, force="Test Force", unit=unit
        )

    world.users = {
        OFFICER: user("m-officer", Role.OFFICER, rank=Rank.SERGEANT, unit=ppu),
        OTHER_UNIT: user("m-other-unit", Role.OFFICER, rank=Rank.CONSTABLE),
        COMPILER: user("m-compiler", Role.WATCHLIST_COMPILER, unit="Intelligence Unit"),
        COMMANDER: user("m-commander", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT),
        PRIVACY: user("m-privacy", Role.PRIVACY_OFFICER),
        OVERSIGHT: user("m-oversight", Role.OVERSIGHT),
        RETAIL: user("m-retail", Role.RETAIL_PARTNER),
        ADMIN: user("m-admin", Role.ADMINISTRATOR),
        NO_ROLE: user("m-no-role"),
    }
    officer, compiler, commander = world.users[OFFICER], world.users[COMPILER], world.users[COMMANDER]
    countersigner = user("m-dpo", Role.PRIVACY_OFFICER)
    case_worker = user("m-ppu-pc", Role.OFFICER, rank=Rank.CONSTABLE, unit=ppu)
    astronaut = _jpeg(Image.fromarray(data.astronaut()))
    world.astronaut = astronaut

    # The engine, documents and vans; a live deployment planned by the officer, who is its team, with one alert.
    engine_approval.approve_engine(commander, reason="Permission matrix engine.", countersigned_by=countersigner)
    documents = []
    for kind in DocumentKind.values:
        document = deployments.record_document(
            countersigner,  # the data protection officer writes it; the commander, another person, approves it
            kind=kind,
            version="M-1",
            title=f"{kind} for the matrix",
            review_by=now.date() + datetime.timedelta(days=90),
        )
        documents.append(deployments.approve_document(commander, document))
    van = deployments.register_asset(commander, kind=AssetKind.VAN, identifier="MATRIX-VAN-1")
    subject, image = astronaut_subject(compiler, astronaut)
    listed = compile_watchlist(
        compiler,
        subject,
        image,
        purpose="Matrix: the live deployment's list",
        now=now,
        start=now - datetime.timedelta(minutes=30),
        end=now + datetime.timedelta(hours=4),
    )
    submit_and_approve(compiler, commander, listed, now=now)
    assert enrolment.enrol_watchlist(listed.pk, listed.approved_hash).enrolled == 1
    live = plan_deployment(officer, listed, assets=[van], documents=documents, team=[officer], now=now - EARLIER)
    go_live(live, commander, officer, now)
    captured = live_capture.capture_frame(van, astronaut)
    alert = captured.alerts[0]
    world.camera = f"Camera {live_capture.issue_credential(commander, van)}"
    credential = van.credentials.get(revoked_at=None)

    # Yesterday's deployment, run with the same van at another place and completed: the public report names it.
    yesterday = now - datetime.timedelta(days=1)
    ran = compile_watchlist(compiler, subject, image, purpose="Matrix: yesterday's list", now=yesterday)
    submit_and_approve(compiler, commander, ran, now=yesterday)
    completed = plan_deployment(
        officer, ran, location_name="Matrix Market", latitude=Decimal("51.4500"), longitude=Decimal("-0.2000"),
        assets=[van], documents=documents, team=[officer], now=yesterday - EARLIER,
    )  # fmt: skip
    completed = go_live(completed, commander, officer, ran.intended_start + datetime.timedelta(minutes=1))
    completed = deployments.complete(completed, now=ran.intended_end)

    # A submitted watchlist (compiled by the compiler, so the commander may decide it), and a second person to add.
    other = custody.create_subject(
        compiler, family_name="Sample", given_names="Ben", date_of_birth=datetime.date(1985, 1, 2), pnc_id="85/654321B"
    )
    other_image = custody.upload_image(
        compiler, other, make_jpeg(seed=6), captured_on=datetime.date(2026, 3, 1), source_system="Custody suite A",
        legal_basis=LegalBasis.PACE_CUSTODY,
    )  # fmt: skip
    submitted = compile_watchlist(compiler, subject, image, purpose="Matrix: a list awaiting its decision", now=now)
    entry = submitted.entries.get()
    world.review = watchlists.submit(compiler, submitted, now=now)

    # The retail partner's search, searched; a Sarah's Law case in another unit officer's charge, with an extension
    # awaiting a supervisor; a threshold change awaiting its countersignature; the officer's API token.
    search = retrospective.submit(
        world.users[RETAIL],
        [astronaut],
        incident_reference="CAD-1",
        crime_type="Shoplifting",
        sharing_agreement="DSA-1",
    )
    retrospective.run_search(search.pk)
    case = disclosures.open_case(
        case_worker,
        route=Route.RIGHT_TO_ASK,
        contact_method=ContactMethod.IN_PERSON,
        contact_at=now,
        applicant_name="Jane Applicant",
        applicant_relationship="Mother",
        applicant_safe_contact="Mobile, evenings only",
        subject_name="John Subject",
        subject_relationship="Mother's partner",
        household="Mother and the child",
        children=[
            {"name": "A.", "date_of_birth": datetime.date(2018, 4, 1), "carer_name": "Jane", "carer_knows": "yes"}
        ],
    )
    extension = disclosures.request_extension(case_worker, case, days=10, reason="The forum sits again next week")
    change = oversight.propose(
        commander,
        "threshold",
        threshold=Decimal("0.640"),
        reason="Laboratory retest of the engine at 0.64 shows lower FPIR with no demographic imbalance.",
        equality_evidence="Report section 4: FPIR by sex and by ethnicity within the confidence intervals at 0.64.",
        evaluation=create_report(),
        evidence=SimpleUploadedFile("report.txt", b"NPL-style test report", content_type="text/plain"),
    )
    # An access request another privacy officer logged and checked, granted by the privacy officer: its pack is due.
    from apps.rights import services as rights

    rights_request = rights.log_request(
        countersigner, kind="access", channel="email", received_at=now, requester_name="Ben Sample",
        requester_contact="ben@example.org",
    )  # fmt: skip
    rights.check_identity(countersigner, rights_request, method="photo_document", note="Passport seen, photo matches")
    rights.decide(world.users[PRIVACY], rights_request, decision="grant")
    token, _key = accounts.issue_token(officer, "matrix")
    lockout = SignInLockout.objects.create(  # test set-up: a pause as the lockout service would leave it
        key="username", value="someone", failures=5, locked_at=now, locked_until=now + datetime.timedelta(minutes=15)
    )
    # A grant one administrator asked for, awaiting a second (four eyes): the admin site lists it.
    account_change = accounts.set_roles(
        user("m-admin-2", Role.ADMINISTRATOR), world.users[NO_ROLE], [Role.PRIVACY_OFFICER], reason="matrix"
    ).account_changes.get()
    checkpoint = audit.sign_checkpoint()
    from django.contrib.contenttypes.models import ContentType

    world.ids = {
        "watchlist": submitted.pk,
        "entry": entry.pk,
        "subject": subject.pk,
        "image": image.pk,
        "other_subject": other.pk,
        "other_image": other_image.pk,
        "live": live.pk,
        "completed": completed.reference,
        "year": timezone.localtime(completed.start).year,
        "live_list": listed.pk,
        "document": documents[0].pk,
        "documents": [d.pk for d in documents],
        "van": van.pk,
        "credential": credential.pk,
        "alert": alert,
        "capture": captured.capture_id,
        "search": search.pk,
        "probe": search.probes.get().pk,
        "case": case.pk,
        "extension": extension.pk,
        "rights_request": rights_request.pk,
        "change": change.pk,
        "token": token.pk,
        "lockout": lockout.pk,
        "account_change": account_change.pk,
        "officer": officer.pk,
        "user_type": ContentType.objects.get_for_model(officer).pk,
        "event": Event.objects.filter(action__startswith="account.").order_by("seq").first().seq,
        "checkpoint": checkpoint.tree_size,
    }
    with connection.cursor() as cursor:
        cursor.execute(TABLES_SQL)
        world.tables = cursor.fetchone()[0]
    for caller, person in world.users.items():
        world.client.force_login(person)  # with a verified second factor where the role needs one (tests/conftest.py)
        world.sessions[caller] = world.client.cookies[settings.SESSION_COOKIE_NAME].value
        world.client.cookies = SimpleCookie()
    return world


def _generate_the_schema_once(patch) -> None:
    """The OpenAPI document is the same for every caller (drf-spectacular serves it public) and takes a second to
    generate: the matrix generates it once. Who may fetch it is still decided on every request."""
    from drf_spectacular.generators import SchemaGenerator

    original, made = SchemaGenerator.get_schema, {}

    def get_schema(self, request=None, public=False):
        if "schema" not in made:
            made["schema"] = original(self, request=request, public=public)
        return made["schema"]

    patch.setattr(SchemaGenerator, "get_schema", get_schema)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, in a transaction rolled back at its end (each request in its own savepoint)."""
    with django_db_blocker.unblock(), transaction.atomic(), pytest.MonkeyPatch.context() as patch:
        _generate_the_schema_once(patch)
        assert connection.settings_dict["NAME"].startswith("test_"), "The world is built in the test database only."
        built = _build_world(timezone.now().replace(microsecond=0))
        yield built
        transaction.set_rollback(True)


# --- What each write sends --------------------------------------------------------------------------------------------


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _file(content: bytes, name="still.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def _plan(world, local: bool) -> dict:
    now = timezone.now()
    start, end = now + datetime.timedelta(days=3), now + datetime.timedelta(days=3, hours=6)
    return {
        "location_name": "Matrix Square",
        "address": "Matrix Square, Demo Town",
        "latitude": "51.400000",
        "longitude": "-0.300000",
        "location_type": "crime_hotspot",
        "grounds": "Robbery hotspot: the matrix plans a second deployment here.",
        "evidence_refs": "CA/2026/999",
        "start": _local(start) if local else start.isoformat(),
        "end": _local(end) if local else end.isoformat(),
        "watchlist": world.ids["live_list"],
        "threshold": "0.600",
        "assets": [],
        "documents": world.ids["documents"],
        "team": [world.users[OFFICER].pk],
    }


def _open_case(world) -> dict:
    return {
        "route": "right_to_ask",
        "contact_method": "telephone",
        "contact_at": _local(timezone.now()),
        "officer_in_charge": world.users[OFFICER].pk,
        "applicant_name": "Jane Applicant",
        "subject_name": "John Subject",
        "child_name": "B.",
        "child_carer_knows": "yes",
    }


FORUM = {
    "forum": "multi_agency",
    "attendees": "Police; children's services",
    "decision": "disclose",
    "rationale": "Presumption applies; necessary and proportionate.",
}
LONG_REASON = "A critical threat assessed this morning: no advance notice may be given."
CORROBORATION = "Fingerprints taken at custody match; CCTV of the entrance corroborates the time."
PROPOSAL = {
    "kind": "threshold",
    "threshold": "0.650",
    "reason": "Laboratory retest at 0.65 shows lower FPIR with no demographic imbalance.",
    "equality_evidence": "Report section 4: FPIR by sex and ethnicity within the intervals at 0.65.",
}


def _cited_report() -> int:
    """The world's evaluation of the engine in force, which a proposal cites."""
    from apps.matching.models import EngineEvaluation

    return EngineEvaluation.objects.order_by("pk").values_list("pk", flat=True).first()


def _bodies(world) -> dict:
    """(method, key) → the body a write sends: a form for the pages, JSON for the API unless it takes files."""
    ids, officer = world.ids, world.users[OFFICER]
    pdf = lambda: _file(b"NPL-style test report", "report.txt", "text/plain")  # noqa: E731
    act = "/disclosures/{pk}/"
    api_case = "/api/disclosures/cases/{pk}/"
    return {
        # Pages
        ("POST", "/accounts/login/two-factor/"): {"otp_token": "000000"},
        ("POST", "/watchlists/new/"): {
            "purpose": "Matrix: another deployment's list",
            "intended_start": _local(timezone.now() + datetime.timedelta(hours=6)),
            "intended_end": _local(timezone.now() + datetime.timedelta(hours=12)),
        },
        ("POST", "/watchlists/{pk}/entries/add/"): {
            "subject": ids["other_subject"],
            "image": ids["other_image"],
            "category": "wanted_by_courts",
            "justification": JUSTIFICATION,
        },
        ("POST", "/watchlists/{pk}/review/"): {
            "decision": "approve",
            "content_hash": world.review.content_hash,
            "route": "standard",
            "comment": "Proportionate: every entry has a warrant.",
            "confirmed": "yes",  # the confirmation step: the decision itself
        },
        ("POST", "/watchlists/{pk}/ratify/"): {"comment": "Ratified"},
        ("POST", "/watchlists/subjects/"): {"q": "Sample"},  # the reason is the matrix's, as a header
        ("POST", "/search/"): {"q": "Sample"},
        ("POST", "/watchlists/subjects/new/"): NEW_SUBJECT,
        ("POST", "/watchlists/subjects/{pk}/"): {
            **NEW_SUBJECT,
            "pnc_id": "56/000001C",
            "given_names": "Eileen Mary",
            "change_reason": "Corrected from the PNC",
        },
        ("POST", "/watchlists/entries/{pk}/"): {
            "image": ids["image"],
            "category": "wanted_by_courts",
            "justification": JUSTIFICATION + " Warrant re-issued.",
        },
        ("POST", "/watchlists/entries/{pk}/remove/"): {"reason": "Arrested yesterday: no longer sought"},
        ("POST", "/deployments/assets/"): {"kind": "van", "identifier": "MATRIX-VAN-8"},
        ("POST", "/deployments/assets/{pk}/retire/"): {"reason": "Written off after a collision"},
        ("POST", "/deployments/documents/"): {
            "kind": "eia",
            "version": "M-3",
            "title": "EIA for the matrix",
            "review_by": (timezone.localdate() + datetime.timedelta(days=90)).isoformat(),
        },
        ("POST", "/matching/credentials/{pk}/revoke/"): {"reason": "Laptop stolen from the van"},
        ("POST", "/matching/watchlists/{pk}/reenrol/"): {"reason": "The engine in use was changed"},
        ("POST", "/matching/searches/{pk}/close/"): {"reason": "Case closed: suspect charged"},
        ("POST", "/watchlists/subjects/{pk}/images/new/"): lambda: {
            "image": _file(make_jpeg(seed=3)),
            "captured_on": "2026-03-01",
            "source_system": "Custody suite A",
            "legal_basis": "pace_custody",
        },
        ("POST", "/deployments/new/"): _plan(world, local=True),
        ("POST", "/deployments/{pk}/notice/"): {
            "published_at": _local(timezone.now() - datetime.timedelta(days=3)),
            "reference": "Force website",
        },
        ("POST", "/deployments/{pk}/exempt/"): {"reason": LONG_REASON},
        ("POST", "/deployments/{pk}/checklist/"): {
            "signage_up": "on",
            "leaflets_available": "on",
            "briefing_done": "on",
        },
        ("POST", "/deployments/{pk}/team/"): {"team": [officer.pk, world.users[OTHER_UNIT].pk], "reason": "New shift"},
        ("POST", "/deployments/{pk}/suspend/"): {"reason": "The crowd is too dense to deploy safely."},
        ("POST", "/deployments/{pk}/cancel/"): {"reason": "The event was called off.", "confirmed": "yes"},
        ("POST", "/deployments/{pk}/end-early/"): {"reason": "The wanted man was arrested: no need to go on."},
        ("POST", "/deployments/{pk}/emergency-stop/"): {"reason": "The feed is intercepted.", "confirmed": "yes"},
        ("POST", "/deployments/stop-all/"): {"reason": "The feeds are intercepted.", "confirmed": "yes"},
        ("POST", "/matching/alerts/{pk}/judge/"): {
            "match": "yes",
            "reason": "Same face, scar and ears",
            "confirmed": "yes",
        },
        ("POST", "/matching/alerts/{pk}/outcome/"): {
            "outcome": "arrest",
            "identity_check": "fingerprint",
            "stop_minutes": "12",
            "note": "Arrested on the warrant",
        },
        ("POST", "/matching/alerts/{pk}/complaint/"): {"complaint_reference": "PSD-2026-0042"},
        ("POST", "/matching/searches/"): lambda: {
            "incident_reference": "CAD-2",
            "crime_type": "Shoplifting",
            "sharing_agreement": "DSA-1",
            "stills": _file(world.astronaut),
        },
        ("POST", "/matching/searches/{pk}/review/"): {
            "probe": ids["probe"],
            "step": "choose",
            "subject": "",
            "note": "No candidate resembles the still",
        },
        ("POST", "/disclosures/new/"): _open_case(world),
        ("POST", act + "child/"): {"name": "C.", "carer_knows": "yes"},
        ("POST", act + "check/"): {"kind": "national_systems", "result": "PNC: nothing held"},
        ("POST", act + "meeting/"): {"identity_verified_with": "Passport seen"},
        ("POST", act + "risk-assessment/"): {"risk_level": "high", "assessment": "Unsupervised access to the child"},
        ("POST", act + "forum-decision/"): {**FORUM, "necessary_and_proportionate": "on"},
        ("POST", act + "undertaking/"): {
            "recipient_name": "Jane Applicant",
            "recipient_relationship": "Mother",
            "recipient_is_applicant": "on",
            "warning_given": "on",
            "signed": "yes",
        },
        ("POST", act + "disclose/"): {"content": "Told her of the convictions in person", "in_person": "on"},
        ("POST", act + "extension/"): {"days": 10, "reason": "The forum sits again next week"},
        ("POST", act + "decide-extension/"): {"extension": ids["extension"], "approve": "yes", "note": "Agreed"},
        ("POST", "/oversight/retention/"): {
            "data_class": "false_alerts",
            "days": 30,
            "hours": 0,
            "reason": "The force's policy review of this year sets 30 days.",
        },
        ("POST", "/oversight/governance/"): lambda: {**PROPOSAL, "evidence": pdf()},
        ("POST", "/oversight/governance/{pk}/countersign/"): {"note": "Checked the report"},
        ("POST", "/oversight/governance/{pk}/withdraw/"): {"reason": "Recalled weights.", "confirmed": "yes"},
        ("POST", "/oversight/governance/{pk}/reject/"): {"note": "The report does not cover age"},
        # API
        ("POST", "/api/accounts/token/"): {"username": officer.username, "password": PASSWORD},
        ("POST", "/api/accounts/tokens/{pk}/revoke/"): {"reason": "Laptop lost"},
        ("POST", "/api/watchlists/subjects/"): NEW_SUBJECT,
        ("PATCH", "/api/watchlists/subjects/{pk}/"): {"given_names": "Eileen Mary", "reason": "Corrected from the PNC"},
        ("POST", "/api/watchlists/subjects/{pk}/images/"): lambda: {
            "image": _file(make_jpeg(seed=4)),
            "captured_on": "2026-02-01",
            "source_system": "Custody suite B",
            "legal_basis": "pace_custody",
        },
        ("POST", "/api/watchlists/watchlists/"): {
            "purpose": "Matrix: another deployment's list",
            "intended_start": (timezone.now() + datetime.timedelta(hours=6)).isoformat(),
            "intended_end": (timezone.now() + datetime.timedelta(hours=12)).isoformat(),
        },
        ("POST", "/api/watchlists/watchlists/{pk}/approve/"): {"content_hash": world.review.content_hash},
        ("POST", "/api/watchlists/watchlists/{pk}/entries/"): {
            "subject": ids["other_subject"],
            "image": ids["other_image"],
            "category": "wanted_by_courts",
            "justification": JUSTIFICATION,
        },
        ("POST", "/api/watchlists/watchlists/{pk}/ratify/"): {"comment": "Ratified"},
        ("POST", "/api/watchlists/watchlists/{pk}/return/"): {"comment": "Add the warrant's reference"},
        ("PATCH", "/api/watchlists/entries/{pk}/"): {"justification": JUSTIFICATION + " Warrant re-issued."},
        ("DELETE", "/api/watchlists/entries/{pk}/"): {"reason": "Arrested yesterday: no longer sought"},
        ("POST", "/api/deployments/assets/"): {"kind": "van", "identifier": "MATRIX-VAN-9"},
        ("POST", "/api/deployments/assets/{pk}/retire/"): {"reason": "Written off after a collision"},
        ("POST", "/api/matching/credentials/"): {"asset": ids["van"]},
        ("POST", "/api/matching/credentials/{pk}/revoke/"): {"reason": "Laptop stolen from the van"},
        ("POST", "/api/matching/watchlists/{pk}/reenrol/"): {"reason": "The engine in use was changed"},
        ("POST", "/api/deployments/documents/"): {
            "kind": "dpia",
            "version": "M-2",
            "title": "DPIA for the matrix",
            "review_by": (timezone.localdate() + datetime.timedelta(days=90)).isoformat(),
        },
        ("POST", "/api/deployments/deployments/"): _plan(world, local=False),
        ("PATCH", "/api/deployments/deployments/{pk}/"): {"reason": "Better grounds", "grounds": "Robbery hotspot."},
        ("POST", "/api/deployments/deployments/{pk}/cancel/"): {"reason": "The event was called off."},
        ("POST", "/api/deployments/deployments/{pk}/emergency-stop/"): {"reason": "The feed is intercepted."},
        ("POST", "/api/deployments/deployments/emergency-stop/"): {"reason": "The feeds are intercepted."},
        ("POST", "/api/deployments/deployments/{pk}/end-early/"): {
            "reason": "The wanted man was arrested: no need to go on."
        },
        ("POST", "/api/deployments/deployments/{pk}/checklist/"): {"signage_up": True},
        ("POST", "/api/deployments/deployments/{pk}/exempt-notice/"): {"reason": LONG_REASON},
        ("POST", "/api/deployments/deployments/{pk}/notice/"): {
            "published_at": (timezone.now() - datetime.timedelta(days=3)).isoformat(),
            "reference": "Force website",
        },
        ("POST", "/api/deployments/deployments/{pk}/suspend/"): {"reason": "The crowd is too dense to deploy safely."},
        ("POST", "/api/deployments/deployments/{pk}/team/"): {"team": [officer.pk], "reason": "New shift"},
        ("POST", "/api/matching/capture/"): "frame",
        ("POST", "/api/matching/capture/crops/"): lambda: {"crop": _file(world.astronaut)},
        ("POST", "/api/matching/alerts/{pk}/adjudicate/"): {"match": True, "reason": "Same face, scar and ears"},
        ("POST", "/api/matching/alerts/{pk}/outcome/"): {
            "outcome": "arrest",
            "identity_check": "fingerprint",
            "stop_minutes": 12,
        },
        ("POST", "/api/matching/alerts/{pk}/complaint/"): {"complaint_reference": "PSD-2026-0042"},
        ("POST", "/api/matching/searches/"): lambda: {
            "incident_reference": "CAD-2",
            "crime_type": "Shoplifting",
            "sharing_agreement": "DSA-1",
            "stills": _file(world.astronaut),
        },
        ("POST", "/api/matching/searches/{pk}/close/"): {"reason": "Case closed: suspect charged"},
        ("POST", "/api/matching/probes/{pk}/choose/"): {"subject": None, "note": "No candidate resembles the still"},
        ("POST", "/api/matching/probes/{pk}/confirm/"): {"corroboration": CORROBORATION},
        ("POST", "/api/disclosures/cases/"): {
            "route": "right_to_ask",
            "contact_method": "telephone",
            "contact_at": timezone.now().isoformat(),
            "applicant_name": "Jane Applicant",
            "applicant_safe_contact": "Mobile, evenings only",
            "subject_name": "John Subject",
            "subject_relationship": "Mother's partner",
            "children": [{"name": "B.", "carer_knows": "yes"}],
        },
        ("POST", "/api/disclosures/cases/from-alert/"): {"alert": ids["alert"]},
        ("POST", api_case + "checks/"): {"kind": "national_systems", "result": "PNC: nothing held"},
        ("POST", api_case + "children/"): {"name": "C.", "carer_knows": "yes"},
        ("POST", api_case + "disclosure/"): {"content": "Told her of the convictions in person", "in_person": True},
        ("POST", api_case + "extensions/"): {"days": 10, "reason": "The forum sits again next week"},
        ("POST", api_case + "forum-decision/"): {**FORUM, "necessary_and_proportionate": True},
        ("POST", api_case + "meeting/"): {"identity_verified_with": "Passport seen"},
        ("POST", api_case + "risk-assessment/"): {
            "risk_level": "high",
            "assessment": "Unsupervised access to the child",
            "has_child_sexual_offence_convictions": True,
        },
        ("POST", api_case + "undertaking/"): {
            "recipient_name": "Jane Applicant",
            "recipient_relationship": "Mother",
            "recipient_is_applicant": True,
            "warning_given": True,
            "signed": True,
        },
        ("POST", "/api/disclosures/cases/{pk}/extensions/{extension_id}/decide/"): {"approve": True},
        ("POST", "/api/oversight/retention/set/"): {
            "data_class": "false_alerts",
            "hours": 720,
            "reason": "The force's policy review of this year sets 30 days.",
        },
        ("POST", "/api/oversight/changes/"): lambda: {
            **PROPOSAL,
            "evidence": pdf(),
            "evaluation": _cited_report(),
        },
        ("POST", "/api/oversight/changes/{pk}/countersign/"): {"note": "Checked the report"},
        ("POST", "/api/oversight/changes/{pk}/withdraw/"): {"reason": "Recalled weights."},
        ("POST", "/api/oversight/changes/{pk}/reject/"): {"note": "The report does not cover age"},
    }


# --- One cell ---------------------------------------------------------------------------------------------------------


def _writes(world) -> Counter:
    """Rows this transaction inserted, updated or deleted so far, by table (rolled-back savepoints included)."""
    with connection.cursor() as cursor:
        cursor.execute(WRITES_SQL, [world.tables])
        return Counter(dict(cursor.fetchall()))


def _send(world, bodies, key: str, method: str, caller: str):
    """Send one request as the caller; the body is the route's own for a write, nothing for a read."""
    client = world.client
    client.cookies = SimpleCookie()  # a caller's own session, or none: nothing carries over from the last request
    headers = {"HTTP_X_ACCESS_REASON": REASON}
    if caller == CAMERA:
        headers["HTTP_AUTHORIZATION"] = world.camera
    elif caller != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[caller]
    if key == "/api/schema/":
        headers["HTTP_ACCEPT"] = "application/vnd.oai.openapi+json"  # the same document, without YAML's slow dump
    path = world.path(key)
    body = bodies.get((method, key))
    body = body() if callable(body) else body
    send = getattr(client, method.lower())
    if method in ("GET", "HEAD", "OPTIONS") or (body is None and method != "POST"):
        return send(path, **headers)
    if body == "frame":
        return send(path, data=world.astronaut, content_type="image/jpeg", **headers)
    files = isinstance(body, dict) and any(hasattr(value, "read") for value in body.values())
    if path.startswith("/api/") and not files:
        return send(path, data=json.dumps(body or {}), content_type="application/json", **headers)
    if method == "POST":
        return send(path, data=body or {}, **headers)  # a form (multipart, as a browser sends files)
    return send(path, **headers)


OUTCOMES = frozenset({"allowed", "refused", "hidden", "not answered", "error"})  # what `_outcome` says of a response


def _outcome(response) -> str:
    status = response.status_code
    if status in (401, 403):
        return "refused"
    target = urlsplit(response.get("Location", ""))
    if 300 <= status < 400 and target.path in SIGN_IN_PAGES and "next=" in target.query:
        return "refused"  # sent to sign in first (a sign-out's redirect to the sign-in page is its success)
    if status == 404:
        return "hidden"
    if status == 405:
        return "not answered"
    if status >= 500:
        return "error"
    return "allowed"


def _last_seq() -> int:
    from apps.audit.models import Event

    return Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _consultations_since(seq: int) -> list[tuple[str, tuple[str, ...]]]:
    """The consultations logged after `seq`: the kind of record consulted and the names of the data logged."""
    from apps.audit.choices import CONSULTATION_ACTION
    from apps.audit.models import Event

    logged = Event.objects.filter(seq__gt=seq, action=CONSULTATION_ACTION).order_by("seq")
    return [(event.target_type, tuple(sorted(event.data or {}))) for event in logged]


def _cell(world, bodies, key: str, method: str, caller: str) -> tuple[str, int, Counter, str, list | None]:
    """Send the request in a savepoint that is rolled back; what it came to, the rows it wrote, and (for a read of
    personal data answered with a 2xx) the consultations it logged, seen before the rollback takes them away."""
    cache.clear()  # sign-in throttles count per address: every cell starts afresh
    consults = method in ROUTES[key].consults
    savepoint = transaction.savepoint()
    consulted = None
    try:
        since = _last_seq() if consults else 0
        response = _send(world, bodies, key, method, caller)
        if consults and 200 <= response.status_code < 300:
            consulted = _consultations_since(since)
    finally:
        transaction.savepoint_rollback(savepoint)
        transaction.set_rollback(False)  # back at the savepoint, the world's transaction is whole again
    # The counts only grow, rolled-back rows included: the last request's count is this one's "before".
    before, world.written = world.written, _writes(world)
    written = world.written - before
    text = b"" if response.streaming else response.content[:200]
    if response.streaming:  # a file response (the verifier) holds its file open until closed; closing it signals
        request_finished.disconnect(close_old_connections)  # the request's end, which must not close the database
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
    return _outcome(response), response.status_code, written, text.decode(errors="replace"), consulted


def cells(key: str):
    """Every (method, caller, expected outcomes) the matrix checks for one key.

    Each declared method as every caller. Each method a route does not declare (of GET, HEAD, POST, PUT, PATCH,
    DELETE and OPTIONS; on the admin site, whose methods are Django's, none) as the first caller the route lets
    through on some method: it must be told 405, or refused. Whether a method is answered does not depend on who
    asks once the role check passed, so one caller who passes it shows it.
    """
    access = ROUTES[key]
    declared = set().union(*access.methods.values())
    callers = CALLERS + ((CAMERA,) if CAMERA in declared else ())
    through = next((caller for caller in callers if caller in declared), None)
    for method in METHODS:
        if method in access.methods:
            for caller in callers:
                fault = (key, method) in table.KNOWN_FAULTS
                yield method, caller, {"error"} if fault else access.expected(method, caller)
        elif through is not None and not key.startswith("/admin/"):
            yield method, through, {"not answered", "refused"}


@pytest.mark.django_db  # also what makes pytest-django create the test database for the module's world
@pytest.mark.parametrize("key", list(ROUTES))
def test_every_method_as_every_caller_is_allowed_or_refused_as_declared(world, key):
    bodies = _bodies(world)
    world.written = _writes(world)
    problems = []
    for method, caller, expected in cells(key):
        outcome, status, written, text, consulted = _cell(world, bodies, key, method, caller)
        if outcome not in expected:
            fixed = " (a known fault no more? remove it from KNOWN_FAULTS)" if "error" in expected else ""
            problems.append(
                f"{method} as {caller}: {status} ({outcome}), expected {' or '.join(sorted(expected))}{fixed}: {text!r}"
            )
        elif outcome not in ("allowed", "error") and written:
            problems.append(f"{method} as {caller}: refused with {status} yet wrote {dict(written)}")
        elif consulted is not None and len(consulted) != 1:
            problems.append(f"{method} as {caller}: read personal data with {status}, logged {consulted}, not one")
    assert not problems, f"{key}:\n  " + "\n  ".join(problems)


@pytest.mark.django_db
def test_every_read_of_personal_data_is_logged_alike_by_the_page_and_the_api(world):
    """The routes of one read (a page and its API) leave the same consultation for the same caller: the same kind of
    record, the same data. Each is asked by one caller every route of the read lets through."""
    bodies = _bodies(world)
    reads = {}
    for key, access in ROUTES.items():
        if access.read:
            method = "GET" if "GET" in access.consults else sorted(access.consults)[0]
            reads.setdefault(access.read, []).append((key, method))
    problems = []
    for read, routes in sorted(reads.items()):
        callers = frozenset.intersection(*(ROUTES[key].methods[method] for key, method in routes))
        assert callers, f"No caller may make the read {read!r} on every route of it: {routes}"
        caller = sorted(callers)[0]
        logged = {}
        for key, method in routes:
            world.written = _writes(world)
            _outcome, status, _written, text, consulted = _cell(world, bodies, key, method, caller)
            if consulted is None or len(consulted) != 1:
                problems.append(f"{read}: {method} {key} as {caller}: {status}, logged {consulted}: {text!r}")
            else:
                logged[f"{method} {key}"] = consulted[0]
        if len(set(logged.values())) > 1:
            problems.append(f"{read}: logged differently as {caller}: {logged}")
    assert not problems, "\n".join(problems)


# --- The table and the routes agree -----------------------------------------------------------------------------------


def _route_of(key: str) -> str:
    """The route (pattern text, without the anchors Django drops when it joins includes) a key's path resolves to."""
    return resolve(PARAMETER.sub("1", key)).route.replace("^", "")


def _routes() -> dict:
    """Every route's pattern text (as `_route_of` gives it) and its view."""
    return {route.replace("^", ""): view for route, view in route_views()}


def test_every_route_is_in_the_table_and_the_table_names_no_route_that_is_gone():
    routes = set(_routes())
    static = {route for route in routes if "static" in route}  # Django serves static files itself under DEBUG
    keyed = {}
    for key in ROUTES:
        try:
            keyed.setdefault(_route_of(key), []).append(key)
        except Resolver404:
            keyed.setdefault(None, []).append(key)
    assert None not in keyed, f"Keys that match no route: {keyed.get(None)}"
    assert set(keyed) <= routes, f"Keys of routes that are gone: {sorted(set(keyed) - routes)}"
    missing = sorted(template(route) for route in routes - set(keyed) - static)
    assert not missing, f"Routes the permission table does not declare: {missing}"


def test_every_method_a_view_answers_is_declared_and_no_other():
    views = _routes()
    wrong = []
    for key, access in table.TABLE.items():
        answered = answered_methods(views[_route_of(key)]) | table.ANSWERED_BEYOND_HANDLERS.get(key, set())
        if set(access.methods) != answered:
            wrong.append(f"{key}: answers {sorted(answered)}, declared {sorted(access.methods)}")
    assert not wrong, "\n".join(wrong)


def test_the_table_names_only_known_callers():
    known = set(CALLERS) | {CAMERA}
    for key, access in ROUTES.items():
        for method, callers in access.methods.items():
            assert method in METHODS and callers <= known, (key, method)
        assert access.hidden <= known, key


@pytest.mark.django_db
def test_every_role_is_a_caller_of_the_matrix(world):
    """A role nobody in the world holds would never be asked: the matrix would pass without it."""
    from govern.roles import Role

    assert set(world.users) == set(CALLERS) - {ANONYMOUS}
    assert {role for person in world.users.values() for role in person.roles} == set(Role.values)


def test_the_matrix_checks_every_declared_method_as_every_caller_and_every_other_method():
    """Each key is checked on every method it declares as every caller (the camera too where a method names it), once
    each, and outside the admin site on every other method of METHODS too; each cell expects outcomes `_outcome` can
    give, "allowed" only for the callers the table lets through. Were `cells` to drop a caller, a method or a key, the
    test of each key would pass on fewer cells; this one fails. The figures, for docs/reliability.md, print with -s."""
    problems, count = [], Counter()
    for key, access in ROUTES.items():
        checked = Counter()
        for method, caller, expected in cells(key):
            checked[method, caller] += 1
            count["declared" if method in access.methods else "undeclared"] += 1
            through = caller in access.methods.get(method, ()) and (key, method) not in table.KNOWN_FAULTS
            if not expected or not expected <= OUTCOMES or ("allowed" in expected) != through:
                problems.append(f"{key} {method} as {caller}: expects {sorted(expected)}")
        callers = set(CALLERS) | {CAMERA for who in access.methods.values() if CAMERA in who}
        missing = {(method, caller) for method in access.methods for caller in callers} - set(checked)
        methods = {method for method, _caller in checked}
        if not key.startswith("/admin/"):
            missing |= {(method, "anyone let through") for method in set(METHODS) - methods}
        if missing:
            problems.append(f"{key}: not checked {sorted(missing)}")
        if twice := sorted(cell for cell, times in checked.items() if times > 1):
            problems.append(f"{key}: checked more than once {twice}")
    assert not problems, "\n".join(problems)
    declared = sum(len(access.methods) for access in ROUTES.values())
    print(
        f"\npermission matrix: {len({_route_of(key) for key in ROUTES})} routes, {len(ROUTES)} keys, {declared} "
        f"declared methods, {len(CALLERS)} callers (+ camera), {count.total()} cells ({count['declared']} declared, "
        f"{count['undeclared']} undeclared methods)"
    )
