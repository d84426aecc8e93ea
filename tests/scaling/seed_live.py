"""Seed a throwaway Govern database for the restart test: a live deployment, its camera, and work waiting for people.

Run as `python -m tests.scaling.seed_live APPROVALS` with DJANGO_SETTINGS_MODULE and DATABASE_URL set; it prints
one JSON line: the deployment, the camera credential, API tokens of the officer and the commander, the watchlists
waiting for approval (with the content hash each was reviewed at) and a signed-in session of the officer. It makes
the deployment with the functions the `live` fixture of tests/matching_fixtures.py makes it with.
"""

import datetime
import io
import json
import sys


def seed(approvals: int) -> dict:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone
    from PIL import Image
    from skimage import data

    from apps.accounts.services import accounts
    from apps.deployments import services as deployments
    from apps.deployments.choices import AssetKind, DocumentKind
    from apps.matching.services import engine_approval, enrolment, live_capture
    from apps.watchlists.services import watchlists
    from govern.roles import Rank, Role
    from tests.deployment_fixtures import go_live, plan_deployment
    from tests.matching_fixtures import astronaut_subject
    from tests.watchlist_fixtures import compile_watchlist, submit_and_approve

    now = timezone.now().replace(microsecond=0)
    password = "correct-horse-battery-staple"

    def user(name, role, rank=""):
        return accounts.create_user(None, name, password, roles=[role], rank=rank, force="Test Force")

    commander = user("commander", Role.AUTHORISING_OFFICER, Rank.SUPERINTENDENT)
    compiler = user("compiler", Role.WATCHLIST_COMPILER)
    officer = user("officer", Role.OFFICER, Rank.CONSTABLE)
    privacy = user("privacy", Role.PRIVACY_OFFICER)
    engine_approval.approve_engine(commander, reason="Restart test: the uncalibrated engine.", countersigned_by=privacy)
    documents = []
    for kind in DocumentKind.values:
        document = deployments.record_document(
            privacy, kind=kind, version="2026.1", title=f"{kind.upper()} for LFR",
            review_by=now.date() + datetime.timedelta(days=90),
        )  # fmt: skip
        documents.append(deployments.approve_document(commander, document))
    van = deployments.register_asset(commander, kind=AssetKind.VAN, identifier="LFR-VAN-1")

    out = io.BytesIO()
    Image.fromarray(data.astronaut()).save(out, "JPEG", quality=92)
    subject, image = astronaut_subject(compiler, out.getvalue())

    def compiled(purpose):
        return compile_watchlist(
            compiler, subject, image, purpose=purpose, now=now, start=now - datetime.timedelta(minutes=30),
            end=now + datetime.timedelta(hours=4),
        )  # fmt: skip

    def submitted_list(purpose):
        watchlist = compiled(purpose)
        return watchlist, watchlists.submit(compiler, watchlist, now=now)

    watchlist = submit_and_approve(compiler, commander, compiled("Restart test: the live list"), now=now)
    enrolled = enrolment.enrol_watchlist(watchlist.pk, watchlist.approved_hash)
    assert enrolled.enrolled == 1, enrolled.problems
    deployment = plan_deployment(
        officer, watchlist, assets=[van], team=[officer], documents=documents, now=now - datetime.timedelta(days=4)
    )
    go_live(deployment, commander, officer, now)

    waiting = [submitted_list(f"Restart test: list {n} waiting for approval") for n in range(approvals)]
    session = SessionStore()
    session[SESSION_KEY] = str(officer.pk)
    session[BACKEND_SESSION_KEY] = "apps.accounts.backends.LockoutModelBackend"
    session[HASH_SESSION_KEY] = officer.get_session_auth_hash()
    session.create()
    return {
        "deployment": deployment.pk,
        "camera": live_capture.issue_credential(commander, van),
        "officer_token": accounts.issue_token(officer, "restart test")[1],
        "commander_token": accounts.issue_token(commander, "restart test", second_factor=True)[1],
        "approvals": [{"id": w.pk, "content_hash": r.content_hash} for w, r in waiting],
        "officer_session": session.session_key,
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(seed(int(sys.argv[1]) if len(sys.argv) > 1 else 4)))
