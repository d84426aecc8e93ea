"""Two people acting on the same thing at the same moment: exactly one wins, the other gets a clear refusal, and the
log holds one event, not two (issue 8, part 5). Each contender is a thread with its own database connection,
released together from a barrier."""

import datetime
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from apps.oversight import services as oversight
from apps.oversight.choices import ChangeKind
from govern.errors import Conflict

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WHY = "Laboratory retest of the engine at 0.64 shows lower FPIR with no demographic imbalance."
EQUALITY = "Report section 4: FPIR by sex and ethnicity within the intervals."


def race(*calls) -> list:
    """Run the calls at once; each result is the call's value or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # the refusal is the result
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _one_won(results, refusal=Conflict):
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, refusal) for r in losers), losers
    return winners[0]


def test_two_officers_judge_the_same_alert_at_once(make_user, live, vans, astronaut):
    from govern.roles import Rank, Role

    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    first, second = (make_user(f"pc{i}", Role.OFFICER, rank=Rank.CONSTABLE) for i in range(2))
    deployments.set_team(live.planned_by, live, [first, second])
    results = race(
        lambda: alert_handling.adjudicate(first, alert, match=True, reason="Same person: scar and ears"),
        lambda: alert_handling.adjudicate(second, alert, match=False, reason="Different person: older, taller"),
    )
    judged = _one_won(results)
    alert.refresh_from_db()
    assert alert.state == judged.state and alert.adjudicated_by == judged.adjudicated_by
    assert Event.objects.filter(action="alert.adjudicated", target_id=str(alert.pk)).count() == 1


def test_two_privacy_officers_countersign_the_same_change_at_once(make_user, approvers, evidence, engine_report):
    from govern.roles import Role

    change = oversight.propose(
        approvers.superintendent,
        ChangeKind.THRESHOLD,
        threshold="0.640",
        reason=WHY,
        equality_evidence=EQUALITY,
        evaluation=engine_report,
        evidence=evidence(),
    )
    dpo1, dpo2 = (make_user(f"dpo{i}", Role.PRIVACY_OFFICER) for i in range(2))
    _one_won(race(lambda: oversight.countersign(dpo1, change), lambda: oversight.countersign(dpo2, change)))
    assert Event.objects.filter(action="governance.countersigned").count() == 1
    assert str(oversight.current_threshold()[0]) == "0.640"


def test_two_proposals_of_the_same_kind_at_once_leave_one_open(approvers, evidence, engine_report):
    def propose(actor, value):
        return lambda: oversight.propose(
            actor,
            ChangeKind.THRESHOLD,
            threshold=value,
            reason=WHY,
            equality_evidence=EQUALITY,
            evaluation=engine_report,
            evidence=evidence(),
        )

    _one_won(race(propose(approvers.superintendent, "0.640"), propose(approvers.superintendent2, "0.650")))
    assert Event.objects.filter(action="governance.proposed").count() == 1


def test_two_retention_sweeps_at_once_delete_each_probe_once(actors, live, vans, astronaut):
    alerts = [Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0]) for _ in range(4)]
    for alert in alerts:
        alert_handling.adjudicate(actors.officer, alert, match=False, reason="Different person: older, taller")
    later = timezone.now() + datetime.timedelta(days=40)
    results = race(lambda: oversight.retention_sweep(now=later), lambda: oversight.retention_sweep(now=later))
    assert not [r for r in results if isinstance(r, Exception)], results
    deleted = [item.target for result in results for item in result if item.outcome == "deleted"]
    assert sorted(deleted) == sorted(f"alert {a.pk}" for a in alerts)  # each once, by one sweep or the other
    assert Event.objects.filter(action="alert.probe_deleted").count() == len(alerts)
    assert Event.objects.filter(action="retention.sweep").count() == 1


def test_frames_committing_together_each_add_their_faces_to_the_published_figures(live, vans, astronaut):
    """Two frames on two request threads wait on the figures' row, held here, then commit one after the other: each
    adds its face, neither overwrites the other's count."""
    from django.db import connection, transaction

    from apps.deployments.models import PublishedFigures

    live_capture.capture_frame(vans[0], astronaut)  # the figures' row exists from the first frame
    before = PublishedFigures.objects.get(deployment=live).faces_processed
    results = []
    with transaction.atomic():
        list(PublishedFigures.objects.select_for_update().filter(deployment=live))
        threads = [
            threading.Thread(target=lambda: results.append(_capture_and_close(vans[0], astronaut))) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        _until_waiting_on_a_lock(connection, 2)
    for thread in threads:
        thread.join(timeout=60)
    assert [result.faces for result in results] == [1, 1]
    figures = PublishedFigures.objects.get(deployment=live)
    assert figures.faces_processed == before + 2
    assert figures.alerts == Alert.objects.filter(deployment=live).count() == 3


def _capture_and_close(van, frame):
    try:
        return live_capture.capture_frame(van, frame)
    finally:
        connections.close_all()


def _until_waiting_on_a_lock(connection, count: int) -> None:
    """Until `count` other sessions are waiting for a lock (the figures' row, or the log's head behind it)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is read once per transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"{count} frames did not reach the figures' lock")


def test_a_custody_image_enrolled_while_it_is_added_to_a_list_never_deadlocks(
    actors, api, submitted, astronaut, monkeypatch
):
    """Issue 20, item 11: uploading a custody image and at once adding it to a watchlist deadlocked with the
    enrolment task (503 in 3 of 4 tries from outside). The enrolment held the image's row while it waited for the
    audit log's head; the edit held the head (its new version's event) while its entry's foreign key waited for the
    image's row. Here the edit is sent at the worst moment, each time: while the enrolment holds the image."""
    from apps.matching.engine import get_engine
    from apps.matching.models import CustodyTemplate
    from apps.matching.services import retrospective
    from apps.watchlists.choices import Category, LegalBasis
    from apps.watchlists.models import Entry
    from apps.watchlists.services import custody, watchlists

    watchlist, _review = submitted
    client = api(actors.compiler)
    engine = get_engine()
    embed, holding = engine.embed, threading.Event()

    def slow_embed(faces):
        holding.set()  # inside the enrolment's transaction, after it took the image's row
        time.sleep(0.5)
        return embed(faces)

    monkeypatch.setattr(engine, "embed", slow_embed)
    failures = []
    for attempt in range(4):
        subject = custody.create_subject(
            actors.compiler, family_name=f"Race{attempt}", given_names="Pat", date_of_birth=datetime.date(1980, 1, 1),
            pnc_id=f"80/{attempt:06d}X",
        )  # fmt: skip
        image = custody.upload_image(
            actors.compiler, subject, astronaut, captured_on=datetime.date(2026, 3, 1),
            source_system="Custody suite A", legal_basis=LegalBasis.PACE_CUSTODY,
        )  # fmt: skip
        CustodyTemplate.objects.filter(image=image).delete()  # the enrolment task is still to run, as after an upload
        watchlist.refresh_from_db()
        if watchlist.state == "draft":  # an edit of a submitted list starts a new version, logged first
            watchlists.submit(actors.compiler, watchlist)
        why = "Wanted on a warrant for robbery; seen in the area last week by two officers."
        body = {"subject": subject.pk, "image": image.pk, "category": Category.WANTED_BY_COURTS, "justification": why}
        holding.clear()

        def add(body=body):
            assert holding.wait(30)
            return client.post(f"/api/watchlists/watchlists/{watchlist.pk}/entries/", body, format="json")

        enrolled, added = race(lambda image=image: retrospective.enrol_custody_image(image.pk), add)
        if isinstance(enrolled, Exception) or enrolled is not True:
            failures.append(("enrolment", attempt, enrolled))
        if isinstance(added, Exception) or added.status_code != 201:
            failures.append(("entry", attempt, getattr(added, "content", added)))
    assert not failures, failures
    assert Entry.objects.filter(subject__family_name__startswith="Race").count() == 4
    assert CustodyTemplate.objects.filter(subject__family_name__startswith="Race").count() == 4


def test_two_privacy_officers_erase_the_same_subject_at_once(make_user, actors, gallery, approved_watchlist):
    from apps.watchlists.models import Subject
    from apps.watchlists.services import erasure
    from govern.roles import Role

    adult, _ = gallery.adult
    approved_watchlist()
    second = make_user("privacy2", Role.PRIVACY_OFFICER)
    why = "Erasure request DSR-9 granted: never charged"
    results = race(
        lambda: erasure.delete_subject(actors.privacy, adult.pk, reason=why),
        lambda: erasure.delete_subject(second, adult.pk, reason=why),
    )
    assert not any(isinstance(result, Exception) for result in results), results
    assert sorted(result is None for result in results) == [False, True]  # one erased, the other found nothing
    assert not Subject.objects.filter(pk=adult.pk).exists()
    assert Event.objects.filter(action="subject.erase", target_id=str(adult.pk)).count() == 1


def test_an_image_uploaded_while_another_of_the_subjects_is_erased_stays_readable(actors, gallery):
    """The erasure destroys the subject's data key and rekeys the rest; an upload sealing under that key at the same
    moment waits for it (both hold the subject's row), so it is sealed under the new key, never the destroyed one."""
    from django.db import transaction

    from apps.watchlists.choices import LegalBasis
    from apps.watchlists.models import CustodyImage
    from apps.watchlists.services import custody, erasure
    from govern import encryption
    from tests.watchlist_fixtures import make_jpeg

    adult, image = gallery.adult
    kept = custody.upload_image(
        actors.compiler, adult, make_jpeg(seed=41), captured_on=datetime.date(2026, 4, 1),
        source_system="Custody suite A", legal_basis=LegalBasis.PACE_CUSTODY,
    )  # fmt: skip
    erased, commit = threading.Event(), threading.Event()
    results = {}

    def erase():
        try:
            with transaction.atomic():
                results["erase"] = erasure.delete_custody_image(
                    actors.privacy, image.pk, reason="Erasure request DSR-10 granted: image taken unlawfully"
                )
                erased.set()
                commit.wait(timeout=30)  # the erasure holds its transaction open while the upload starts
        except Exception as exc:
            results["erase"] = exc
            erased.set()
        finally:
            connections.close_all()

    def upload():
        try:
            results["upload"] = custody.upload_image(
                actors.compiler, adult, make_jpeg(seed=42), captured_on=datetime.date(2026, 5, 1),
                source_system="Custody suite A", legal_basis=LegalBasis.PACE_CUSTODY,
            )  # fmt: skip
        except Exception as exc:
            results["upload"] = exc
        finally:
            connections.close_all()

    eraser = threading.Thread(target=erase)
    eraser.start()
    assert erased.wait(timeout=60)
    uploader = threading.Thread(target=upload)
    uploader.start()
    uploader.join(timeout=2)  # it waits on the subject's row (or, unlocked, seals under the doomed key meanwhile)
    commit.set()
    eraser.join(timeout=60)
    uploader.join(timeout=60)
    assert not isinstance(results["erase"], Exception) and not isinstance(results["upload"], Exception), results
    remaining = list(CustodyImage.objects.filter(subject=adult).order_by("pk"))
    assert [each.pk for each in remaining] == [kept.pk, results["upload"].pk]
    for each in remaining:  # every image left is readable: none sealed under the destroyed key
        encryption.decrypt(bytes(each.ciphertext), associated_data=each.associated_data())
