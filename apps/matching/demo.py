"""Demo: the demo deployments' faces come from frames posted through the real capture API with a camera credential,
as a van's do, and the demo officer judges their alerts through the services, so what they publish and what the
privacy officer reconciles is counted from records, as for any deployment.

Runs after the deployments' demo (ORDER), which makes the live deployment. The engine is approved before either, by the
oversight demo's countersigned change (ORDER 40); this makes sure of it (it is idempotent). The capture endpoint takes a
frame only for a deployment live now, so each completed demo deployment is a short one earlier today, planned and
authorised days and hours before: it goes live, its van's frames are posted now, the officer judges its alerts, and it
is completed now, a few minutes before its planned end. The live deployment gets its first frames and keeps its alert
for an officer to judge; `manage.py demo_camera` goes on filming it while `make run` serves. With an engine that
recognises people, the officer also runs a retrospective search of a third photograph of the stand-in against the
custody images (`_search`), which ranks his first.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.management import CommandError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.deployments import demo as deployments_demo
from apps.deployments import services as deployments
from apps.deployments.choices import DeploymentState
from apps.deployments.models import Deployment
from apps.watchlists import demo as watchlist_demo
from apps.watchlists.models import CustodyImage, Subject

from . import demo_camera, selectors
from .choices import Outcome
from .models import Alert, Capture, Probe, SearchRequest
from .services import alert_handling, engine_approval, enrolment, live_capture, retrospective

ORDER = 110
MARK = deployments_demo.MARK
# Each completed demo deployment: its place, when it started (hours ago), the first of its passers-by
# (demo_camera.passer_by), the listed subjects whose photographs its camera showed among them, and what followed the
# first true alert.
COMPLETED = [
    (deployments_demo.PLACES[0], 4, 1, (1, 0), Outcome.ARREST),
    (deployments_demo.PLACES[3], 2, 4, (0, 1), Outcome.OTHER_ACTION),
]
LIVE_FIRST_PASSER_BY, LIVE_SHOWN = 7, (1,)
# The person the officer records as seen: with the uncalibrated engine every demo face is the same public-domain
# portrait (apps/watchlists/demo.py); with real faces every alert is on the stand-in's photograph.
SEEN = {"perceived_sex": "female", "perceived_age": "35_44", "perceived_ethnicity": "white"}
SEEN_STAND_IN = {"perceived_sex": "male", "perceived_age": "45_54", "perceived_ethnicity": "black"}
SEARCH_INCIDENT = f"{MARK}: CAD 0001"
# What `make run` configures for dlib's engine (scripts/run.sh): above the passers-by's 0.80 to 0.82, below the
# stand-in's 0.96.
DLIB_DEMO_THRESHOLD = Decimal("0.900")
# The invented stop after the first true alert: how identity was checked and how long it took.
STOP = {"identity_check": "fingerprint", "stop_minutes": 12}
# A completed demo deployment ends this long after its frames were posted, and is completed when they were.
TIME_TO_FILM = datetime.timedelta(minutes=10)


class NotLive(Exception):
    """A demo deployment's go-live gate refused it; the message says which conditions failed."""


def _shots(first_passer_by: int, shown: tuple[int, ...]) -> list[demo_camera.Shot]:
    """Passers-by numbered from `first_passer_by`, one before and one after each listed subject's photograph shown."""
    shots = [demo_camera.passer_by(first_passer_by)]
    for number, index in enumerate(shown, start=1):
        shots += [demo_camera.enrolled_photograph(index), demo_camera.passer_by(first_passer_by + number)]
    return shots


def _enrol(deployment: Deployment) -> None:
    """Enrol the deployment's list on the engine in use, as the approval's task would (it runs after the approval
    commits: in this process without a broker, else on the worker, which starts after the seed); idempotent. The
    go-live gate refuses a list with no templates of the engine in use."""
    enrolled = enrolment.enrol_watchlist(deployment.watchlist_id, deployment.authorised_watchlist_hash)
    if enrolled.problems:
        raise CommandError(f"{deployment.reference}'s list could not be enrolled: {' '.join(enrolled.problems)}")


def _film(deployment: Deployment, shots: list[demo_camera.Shot]) -> list[tuple[demo_camera.Shot, demo_camera.Answer]]:
    """Post the shots as frames from the deployment's van, with a credential the commander issues for it now."""
    commander = User.objects.get(username="commander")
    credential = live_capture.issue_credential(commander, deployment.assets.get())
    camera = demo_camera.InProcess(credential)
    filmed = []
    try:
        for shot in shots:
            answer = camera.post(deployment.pk, shot.frame)
            if answer.status != 201:
                raise CommandError(f"{deployment.reference} refused a demo frame ({answer.status}): {answer.body}")
            filmed.append((shot, answer))
    finally:
        demo_camera.put_away(commander, credential, "The demo's seed has sent its frames.")
    return filmed


def _judge(filmed: list[tuple[demo_camera.Shot, demo_camera.Answer]], outcome: str) -> None:
    """The demo officer judges each alert by who was in front of the camera: a true match when the photograph held up
    is the custody image of the subject the alert names, else a false alert. The first true match is engaged, and
    `outcome` recorded."""
    officer = User.objects.get(username="officer")
    engaged = False
    for shot, answer in filmed:
        for pk in answer.body["alerts"]:
            alert = selectors.alert(officer, Alert.objects.get(pk=pk), reason=f"{MARK}: judging the alert")
            named = alert.subject.pnc_id
            match = shot.subject == named
            reason = (
                f"{MARK}: the photograph held up is the custody image of {named}, whom the alert names."
                if match
                else f"{MARK}: the face is {shot.subject or 'a passer-by'}'s, not {named}'s."
            )
            seen = SEEN_STAND_IN if watchlist_demo.real_faces() else SEEN
            alert = alert_handling.adjudicate(officer, alert, match=match, reason=reason, **seen)
            if match and not engaged:
                alert = alert_handling.engage(officer, alert)
                alert_handling.record_alert_outcome(
                    officer, alert, outcome=outcome, note=f"{MARK}: invented outcome.", **STOP
                )
                engaged = True


def _completed(place, started_hours_ago: int, first_passer_by: int, shown, outcome, now) -> Deployment:
    """A short demo deployment earlier today, filmed, judged and completed now."""
    start = now - datetime.timedelta(hours=started_hours_ago)
    deployment = deployments_demo.authorised(
        place, deployments_demo.van(1), start, now + TIME_TO_FILM, at=start - datetime.timedelta(hours=3)
    )
    deployment.refresh_from_db()  # as authorised: bound to its list's approved version
    _enrol(deployment)
    went_live, conditions = deployments.try_go_live(deployment, now=start + datetime.timedelta(minutes=1))
    if not went_live:
        raise NotLive(f"{deployment.reference}: " + " ".join(c.detail for c in conditions if not c.ok))
    deployment.refresh_from_db()  # as authorised and gone live
    _judge(_film(deployment, _shots(first_passer_by, shown)), outcome)
    return deployments.complete(deployment)


def _search(stdout) -> None:
    """Once: the demo officer's retrospective search of a still of the stand-in (a photograph of him not in custody)
    against every demo custody image, run now as the worker would; it says who ranks first."""
    if SearchRequest.objects.filter(incident_reference=SEARCH_INCIDENT).exists():
        return
    for image in CustodyImage.objects.filter(subject__pnc_id__startswith="00/"):
        retrospective.enrol_custody_image(image.pk)  # as the upload's task does; idempotent
    still = (watchlist_demo.REAL_FACES / "obama3.jpg").read_bytes()
    officer = User.objects.get(username="officer")
    request = retrospective.submit(officer, [still], incident_reference=SEARCH_INCIDENT, crime_type="Theft")
    retrospective.run_search(request.pk)
    candidates = Probe.objects.get(request=request).candidates
    if candidates:
        first = Subject.objects.get(pk=candidates[0]["subject"])
        stdout.write(
            f"Demo retrospective search {request.reference}: {len(candidates)} candidates, first"
            f" {first.pnc_id} at {candidates[0]['score']:.3f} (the stand-in is {watchlist_demo.STAND_IN_PNC})."
        )


def seed(stdout) -> None:
    """Make sure the engine is approved; make and film the completed demo deployments, and film the live one."""
    name, _weights, calibrated = engine_approval.engine_identity()
    if not calibrated and not settings.FACE_ALLOW_UNCALIBRATED:
        stdout.write(f"Face engine {name} is uncalibrated and not allowed: demo deployments will not go live.")
        return
    engine_approval.approve_engine(
        User.objects.get(username="commander"),
        reason="SYNTHETIC DEMO: approved for demonstration only"
        + (
            "; it recognises people (the demo's evaluation is five photographs)."
            if calibrated
            else "; it recognises nobody."
        ),
        countersigned_by=User.objects.get(username="privacy"),
    )
    stdout.write(f"Face engine {name} ({'calibrated' if calibrated else 'UNCALIBRATED'}) approved for the demo.")
    now = timezone.now().replace(second=0, microsecond=0)
    demo = Deployment.objects.filter(grounds__startswith=MARK)
    fed = []
    with transaction.atomic():
        if not Capture.objects.filter(deployment__in=demo.filter(state=DeploymentState.COMPLETED)).exists():
            try:
                with transaction.atomic():
                    fed += [_completed(*completed, now=now) for completed in COMPLETED]
            except NotLive as refusal:
                stdout.write(f"The demo's completed deployments were not made: the gate refused {refusal}")
        # The deployments' demo authorised the live one before its list was enrolled: enrol it, and it goes live.
        for waiting in demo.filter(state=DeploymentState.AUTHORISED, start__lte=now, end__gt=now):
            if waiting.watchlist.approved_hash != waiting.authorised_watchlist_hash:
                continue  # its list moved on since: the gate refuses it anyway
            _enrol(waiting)
            deployments.try_go_live(waiting, now=now)
        live = deployments_demo.live_now()
        if live is not None and not Capture.objects.filter(deployment=live).exists():
            _film(live, _shots(LIVE_FIRST_PASSER_BY, LIVE_SHOWN))
            fed.append(live)
    for deployment in fed:
        counts = alert_handling.reconciliation(deployment)
        stdout.write(
            f"Demo frames through the capture API: {deployment.reference} ({deployment.get_state_display().lower()},"
            f" threshold {deployment.threshold}): faces {counts['faces']} = alerts {counts['alerts']} + deletion"
            f" receipts {counts['receipts']}."
        )
    if watchlist_demo.real_faces():
        _search(stdout)
    if not calibrated and any(deployment.threshold < 1 for deployment in fed):
        stdout.write(
            "With the uncalibrated engine every face alerts below threshold 1.000; `make run` sets"
            " MATCH_THRESHOLD=1.000 (README, The demo)."
        )
    if settings.FACE_ENGINE == "dlib" and any(deployment.threshold < DLIB_DEMO_THRESHOLD for deployment in fed):
        stdout.write(
            f"With dlib's engine different people score about 0.8, so below {DLIB_DEMO_THRESHOLD} the demo's"
            f" passers-by alert too; `make run` sets MATCH_THRESHOLD={DLIB_DEMO_THRESHOLD} (README, The demo)."
        )
