"""Seed a throwaway Govern database for the restart test: a live deployment, its camera, and work waiting for people.

Run as `python -m tests.scaling.seed_live APPROVALS` with DJANGO_SETTINGS_MODULE and DATABASE_URL set; it prints
one JSON line: the deployment, the camera credential, API tokens of the officer and the commander, the watchlists
waiting for approval (with the content hash each was reviewed at) and a signed-in session of the officer. It runs
the same services, in the same order, as the `live` fixture of tests/matching_fixtures.py.
"""

import datetime
import io
import json
import sys
from decimal import Decimal


def seed(approvals: int) -> dict:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone
    from PIL import Image
    from skimage import data

    from apps.accounts import services as accounts
    from apps.accounts.choices import Rank, Role
    from apps.deployments import services as deployments
    from apps.deployments.choices import AssetKind, DocumentKind, LocationType
    from apps.matching import services as matching
    from apps.watchlists import services as watchlists
    from apps.watchlists.choices import Category, LegalBasis

    now = timezone.now().replace(microsecond=0)
    password = "correct-horse-battery-staple"

    def user(name, role, rank=""):
        return accounts.create_user(None, name, password, roles=[role], rank=rank, force="Test Force")

    commander = user("commander", Role.AUTHORISING_OFFICER, Rank.SUPERINTENDENT)
    compiler = user("compiler", Role.WATCHLIST_COMPILER)
    officer = user("officer", Role.OFFICER, Rank.CONSTABLE)
    privacy = user("privacy", Role.PRIVACY_OFFICER)
    matching.approve_engine(commander, reason="Restart test: the uncalibrated engine.", countersigned_by=privacy)
    documents = []
    for kind in DocumentKind.values:
        document = deployments.record_document(
            commander, kind=kind, version="2026.1", title=f"{kind.upper()} for LFR",
            review_by=now.date() + datetime.timedelta(days=90),
        )  # fmt: skip
        documents.append(deployments.approve_document(commander, document))
    van = deployments.register_asset(commander, kind=AssetKind.VAN, identifier="LFR-VAN-1")

    out = io.BytesIO()
    Image.fromarray(data.astronaut()).save(out, "JPEG", quality=92)
    subject = watchlists.create_subject(
        compiler, family_name="Collins", given_names="Eileen", date_of_birth=datetime.date(1956, 11, 19),
        pnc_id="56/000001C",
    )  # fmt: skip
    image = watchlists.upload_image(
        compiler, subject, out.getvalue(), captured_on=datetime.date(2026, 1, 5), source_system="Public-domain photo",
        legal_basis=LegalBasis.OTHER_LAWFUL, legal_basis_note="Test fixture: public-domain NASA portrait",
    )  # fmt: skip

    def submitted_list(purpose):
        watchlist = watchlists.create_watchlist(
            compiler, purpose=purpose, now=now, intended_start=now - datetime.timedelta(minutes=30),
            intended_end=now + datetime.timedelta(hours=4),
        )  # fmt: skip
        watchlists.add_entry(
            compiler, watchlist, subject=subject, image=image, category=Category.WANTED_BY_COURTS, now=now,
            justification="Wanted on a warrant issued by Westminster Magistrates for failing to appear, 12 Oct 2026.",
        )  # fmt: skip
        return watchlist, watchlists.submit(compiler, watchlist, now=now)

    watchlist, review = submitted_list("Restart test: the live list")
    watchlists.approve(commander, watchlist, content_hash=review.content_hash, now=now)
    watchlist.refresh_from_db()
    enrolled = matching.enrol_watchlist(watchlist.pk, watchlist.approved_hash)
    assert enrolled.enrolled == 1, enrolled.problems
    deployment = deployments.plan(
        officer, watchlist=watchlist, start=watchlist.intended_start, end=watchlist.intended_end, assets=[van],
        team=[officer], documents=documents, now=now - datetime.timedelta(days=4), location_name="Oxford Circus",
        address="Oxford Street, London W1",
        latitude=Decimal("51.515200"), longitude=Decimal("-0.141800"), location_type=LocationType.CRIME_HOTSPOT,
        grounds="Robbery hotspot: 41 robberies in the last 28 days around the station exits.",
        evidence_refs="Crime analysis CA/2026/311",
    )  # fmt: skip
    deployments.authorise(commander, deployment, revision=deployment.revision, now=now)
    published = now - datetime.timedelta(days=3)
    deployments.publish_notice(officer, deployment, published_at=published, reference="force website", now=published)
    deployments.update_checklist(officer, deployment, signage_up=True, leaflets_available=True, briefing_done=True)
    went, conditions = deployments.try_go_live(deployment, now=now)
    assert went, [condition for condition in conditions if not condition.ok]

    waiting = [submitted_list(f"Restart test: list {n} waiting for approval") for n in range(approvals)]
    session = SessionStore()
    session[SESSION_KEY] = str(officer.pk)
    session[BACKEND_SESSION_KEY] = "apps.accounts.backends.LockoutModelBackend"
    session[HASH_SESSION_KEY] = officer.get_session_auth_hash()
    session.create()
    return {
        "deployment": deployment.pk,
        "camera": matching.issue_credential(commander, van),
        "officer_token": accounts.issue_token(officer, "restart test")[1],
        "commander_token": accounts.issue_token(commander, "restart test", second_factor=True)[1],
        "approvals": [{"id": w.pk, "content_hash": r.content_hash} for w, r in waiting],
        "officer_session": session.session_key,
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(seed(int(sys.argv[1]) if len(sys.argv) > 1 else 4)))
