"""The capture agent's endpoints (issue 25): session, status and batches of tracks, one decision per person passing.

The engine is uncalibrated here: the same pixels give the same vector, so the astronaut's own face crop scores its
enrolled template (these test the pipeline and its rules, not recognition)."""

import base64
import datetime
import io
import json
import uuid

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching.engine import get_engine
from apps.matching.models import AgentBatch, Alert, AlertSighting, Capture, DeletionReceipt, WatchlistTemplate
from apps.matching.services import alert_handling, enrolment, live_capture
from apps.oversight import reconciliation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BASE = "/api/matching/agent/"
REASON = "Suspect device reported near the van: stop capture now."


@pytest.fixture
def now():
    """The deployment went live ten minutes ago, so its agent's tracks can have been seen a while back."""
    return timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=10)


@pytest.fixture
def token(approvers, vans):
    return live_capture.issue_credential(approvers.superintendent, vans[0])


@pytest.fixture(scope="module")
def crop(astronaut) -> str:
    face = get_engine().detect(Image.open(io.BytesIO(astronaut)))[0]
    return base64.b64encode(face.crop_jpeg()).decode()


def _get(client, what, token, deployment):
    return client.get(f"{BASE}{what}/?deployment={deployment}", HTTP_AUTHORIZATION=f"Camera {token}")


def _post(client, token, deployment, body):
    return client.post(
        f"{BASE}batches/?deployment={deployment}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Camera {token}",
    )


def _seen(seconds_ago: float, length: float = 4.0):
    last = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    return (last - datetime.timedelta(seconds=length)).isoformat(), last.isoformat()


def _receipt(seconds_ago=5.0, faces=23, frames=23, score=0.41):
    first, last = _seen(seconds_ago)
    return {
        "track": str(uuid.uuid4()),
        "first_seen": first,
        "last_seen": last,
        "frames": frames,
        "faces": faces,
        "best_score": score,
        "decision": "receipt",
        "commitment": "ab" * 32,
    }


def _alert(live, crop, seconds_ago=5.0, faces=38, frames=40, length=4.0):
    first, last = _seen(seconds_ago, length)
    entry = live.watchlist.entries.get().pk
    return {
        "track": str(uuid.uuid4()),
        "first_seen": first,
        "last_seen": last,
        "frames": frames,
        "faces": faces,
        "best_score": 0.93,
        "decision": "alert",
        "entry": entry,
        "candidates": [{"entry": entry, "score": 0.93}],
        "crop": crop,
        "commitment": "cd" * 32,
    }


def _batch(*tracks):
    return {"batch": str(uuid.uuid4()), "tracks": list(tracks)}


def _rows():
    return (
        Capture.objects.count(),
        Alert.objects.count(),
        DeletionReceipt.objects.count(),
        AlertSighting.objects.count(),
        AgentBatch.objects.count(),
    )


# --- Session and status -----------------------------------------------------------------------------------------------


def test_the_session_exports_the_authorised_templates_without_names_and_is_logged(client, live, token):
    response = _get(client, "session", token, live.pk)
    assert response.status_code == 200, response.content
    body = response.json()
    engine = get_engine()
    assert body["engine"] == {"name": engine.name, "weights_sha256": engine.weights_sha256, "dimensions": 512}
    assert body["watchlist_hash"] == live.authorised_watchlist_hash and body["threshold"] == f"{live.threshold:.3f}"
    assert (body["poll_seconds"], body["alert_window_seconds"], body["generation"]) == (2, 120, 0)
    [template] = body["templates"]
    assert set(template) == {"entry", "vector"} and template["entry"] == live.watchlist.entries.get().pk
    vector = np.frombuffer(base64.b64decode(template["vector"]), dtype="<f4")
    stored = np.asarray(WatchlistTemplate.objects.get().embedding, dtype=np.float32)
    assert np.array_equal(vector, stored)
    event = Event.objects.get(action="agent.session")
    assert event.data["templates"] == 1 and event.data["asset"] == "LFR-VAN-1"
    assert event.data["deployment"] == live.pk and event.data["watchlist_hash"] == live.authorised_watchlist_hash


@pytest.mark.parametrize("what", ["session", "status", "batches"])
def test_every_endpoint_refuses_a_missing_or_wrong_credential(client, live, token, what):
    send = client.post if what == "batches" else client.get
    assert send(f"{BASE}{what}/?deployment={live.pk}").status_code == 401
    wrong = token.partition(".")[0] + ".not-the-secret"
    assert send(f"{BASE}{what}/?deployment={live.pk}", HTTP_AUTHORIZATION=f"Camera {wrong}").status_code == 401
    assert not Event.objects.filter(action="agent.session").exists() and _rows() == (0, 0, 0, 0, 0)


def test_a_camera_not_booked_on_the_deployment_is_refused_everywhere(client, live, approvers, vans, crop):
    other = live_capture.issue_credential(approvers.superintendent, vans[1])
    assert _get(client, "session", other, live.pk).status_code == 403
    assert _get(client, "status", other, live.pk).status_code == 403
    assert _post(client, other, live.pk, _batch(_receipt())).status_code == 403
    assert _rows() == (0, 0, 0, 0, 0) and not Event.objects.filter(action="agent.session").exists()


def test_the_status_says_live_then_stopped_with_the_reason_and_the_session_is_refused(client, live, token, actors):
    assert _get(client, "status", token, live.pk).json() == {"live": True, "state": "live", "generation": 0}
    deployments.emergency_stop(actors.privacy, REASON, live)
    stopped = _get(client, "status", token, live.pk)
    assert stopped.status_code == 200
    [(_, closed)] = deployments.live_periods(live)
    assert stopped.json() == {
        "live": False,
        "state": "stopped",
        "reason": f"{live.reference} was stopped in an emergency: {REASON}",
        "stopped_at": closed.astimezone(datetime.UTC).isoformat(timespec="microseconds"),  # the agent cuts there
    }
    refused = _get(client, "session", token, live.pk)
    assert refused.status_code == 403 and REASON in refused.json()["detail"]
    assert not Event.objects.filter(action="agent.session").exists()


def test_an_unapproved_engine_is_refused_its_session_and_batches(client, live, token, crop, engine_approved):
    engine_approved.delete()
    refused = _get(client, "session", token, live.pk)
    assert refused.status_code == 403 and "not approved" in refused.json()["detail"]
    assert _get(client, "status", token, live.pk).json()["live"] is False
    batch = _post(client, token, live.pk, _batch(_receipt()))
    assert batch.status_code == 403 and "not approved" in batch.json()["detail"]
    assert _rows() == (0, 0, 0, 0, 0)


# --- Batches: the ledger per track ------------------------------------------------------------------------------------


def test_a_batch_records_one_alert_and_one_receipt_per_track_and_the_ledger_balances(client, live, token, crop):
    alerted, receipted = _alert(live, crop), _receipt()
    response = _post(client, token, live.pk, _batch(alerted, receipted))
    assert response.status_code == 201, response.content
    body = response.json()
    alert = Alert.objects.get()
    assert body["alerts"] == [alert.pk] and body["attached"] == [] and body["duplicate"] is False
    assert (body["tracks"], body["receipts"], body["faces"]) == (2, 1, 61)
    # The alert carries the track: its best crop under its own data key, score, frames spanned, first and last seen.
    assert (alert.faces, alert.frames, alert.score > 0.99) == (38, 40, True)
    assert alert.first_seen.isoformat() == alerted["first_seen"] and alert.last_seen.isoformat() == alerted["last_seen"]
    assert bytes(alert.probe_ciphertext)[:4] == b"GVD1" and alert.late_by is None
    receipt = DeletionReceipt.objects.get()
    assert (receipt.faces, receipt.frames, receipt.commitment) == (23, 23, "ab" * 32)
    assert Event.objects.get(seq=receipt.event_seq).data["commitment"] == "ab" * 32
    capture = Capture.objects.get()
    assert (capture.faces, capture.tracks, capture.alerts, capture.receipts) == (61, 2, 1, 1)
    [ledger] = reconciliation.ledgers()
    assert ledger.reconciles, ledger.problem
    assert (ledger.faces, ledger.tracks, ledger.alerts, ledger.receipts) == (61, 2, 1, 1)
    assert (ledger.published_faces, ledger.published_alerts) == (61, 1)
    assert alert_handling.reconciliation(live)["reconciles"]


def test_frames_still_reconcile_as_tracks_of_one_face(live, vans, astronaut):
    result = live_capture.capture_frame(vans[0], astronaut)
    assert len(result.alerts) == 1
    alert = Alert.objects.get()
    assert (alert.faces, alert.frames, alert.first_seen, alert.captured_at) == (1, 1, None, alert.created_at)
    [ledger] = reconciliation.ledgers()
    assert ledger.reconciles and (ledger.faces, ledger.tracks, ledger.alerts) == (1, 1, 1)


def test_the_reconciliation_goes_red_when_a_tracks_faces_are_lost(client, live, token):
    assert _post(client, token, live.pk, _batch(_receipt(faces=5, frames=9))).status_code == 201
    DeletionReceipt.objects.update(faces=4)  # behind the services' back
    [ledger] = reconciliation.ledgers()
    assert not ledger.reconciles and "1 face(s) processed with neither" in ledger.problem


def test_the_database_refuses_a_track_with_more_faces_than_frames_or_a_capture_that_does_not_add_up(live, vans):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Capture.objects.create(deployment=live, asset=vans[0], received_at=timezone.now(), faces=3, alerts=1,
                               receipts=1, tracks=3)  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Capture.objects.create(
            deployment=live, asset=vans[0], received_at=timezone.now(), faces=3, alerts=1, receipts=1
        )  # fmt: skip  (a frame: each face a track)
    capture = Capture.objects.create(
        deployment=live, asset=vans[0], received_at=timezone.now(), faces=1, alerts=0, receipts=1, tracks=1
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DeletionReceipt.objects.create(capture=capture, deployment=live, watchlist_hash="x", best_score=0.1,
                                       commitment="a" * 64, engine="e", weights_sha256="w", created_at=timezone.now(),
                                       event_seq=0, faces=3, frames=2)  # fmt: skip


def test_the_offline_verifier_recomputes_the_ledger_per_track_from_the_events(client, live, token, crop):
    from apps.audit import verifier
    from apps.audit.models import Event as Logged

    assert _post(client, token, live.pk, _batch(_alert(live, crop), _receipt(faces=7, frames=9))).status_code == 201
    assert _post(client, token, live.pk, _batch(_alert(live, crop, seconds_ago=3))).status_code == 201  # a sighting
    parsed = [(e.seq, e.canonical, json.loads(e.canonical)) for e in Logged.objects.order_by("seq")]
    fields = ("event_seq", "commitment", "watchlist_hash", "engine", "best_score")
    receipts = [{"deployment": live.pk, **row} for row in DeletionReceipt.objects.values(*fields)]
    counted, problems = verifier._ledger(parsed, receipts, live.pk)
    assert problems == [] and counted == {"faces": 83, "tracks": 3, "alerts": 1, "sightings": 1, "receipts": 1}
    # A lost deletion event (its faces) is found.
    tampered = [item for item in parsed if item[2]["action"] != "face.deleted"]
    _, problems = verifier._ledger(tampered, [], live.pk)
    assert any("faces 83 != faces in alerted tracks 76 + in deleted tracks 0" in p for p in problems)


# --- Window attachment, invented alerts ---------------------------------------------------------------------------


def test_a_second_track_of_the_subject_within_the_window_is_attached_not_raised(client, live, token, crop, settings):
    first = _post(client, token, live.pk, _batch(_alert(live, crop, seconds_ago=60))).json()
    second = _post(client, token, live.pk, _batch(_alert(live, crop, seconds_ago=5, faces=3, frames=4)))
    assert second.status_code == 201, second.content
    assert second.json()["alerts"] == [] and second.json()["attached"] == first["alerts"]
    sighting = AlertSighting.objects.get()
    assert (sighting.alert_id, sighting.faces, sighting.frames) == (first["alerts"][0], 3, 4)
    assert Alert.objects.count() == 1 and Event.objects.filter(action="alert.sighting").count() == 1
    [ledger] = reconciliation.ledgers()
    assert ledger.reconciles and (ledger.tracks, ledger.alerts, ledger.sightings) == (2, 1, 1)
    # Outside the window, or once the first is judged, a new alert is raised.
    settings.ALERT_WINDOW_SECONDS = 1
    third = _post(client, token, live.pk, _batch(_alert(live, crop, seconds_ago=1, faces=10, frames=10, length=0.5)))
    assert len(third.json()["alerts"]) == 1 and Alert.objects.count() == 2


def test_an_invented_alert_is_refused_and_the_batch_records_nothing(client, live, token, crop):
    other = np.random.default_rng(7).normal(size=512).astype(np.float32)
    WatchlistTemplate.objects.filter(watchlist=live.watchlist).update(
        embedding=(other / np.linalg.norm(other)).tolist()
    )
    enrolment.templates.cache_clear()
    response = _post(client, token, live.pk, _batch(_receipt(), _alert(live, crop)))
    assert response.status_code == 403 and "below the threshold" in response.json()["detail"]
    assert _rows() == (0, 0, 0, 0, 0)
    assert Event.objects.filter(action="capture.refused").count() == 1


def test_a_malformed_batch_is_400_and_changes_nothing(client, live, token, crop):
    bad = _receipt(faces=9, frames=3)
    assert _post(client, token, live.pk, _batch(bad)).status_code == 400
    receipt_with_crop = {**_receipt(), "crop": crop}
    assert _post(client, token, live.pk, _batch(receipt_with_crop)).status_code == 400
    assert _post(client, token, live.pk, {"batch": "nope", "tracks": []}).status_code == 400
    assert _post(client, token, live.pk, _batch(*[_receipt() for _ in range(257)])).status_code == 400
    assert _rows() == (0, 0, 0, 0, 0)


# --- Idempotency and a dropped link -------------------------------------------------------------------------------


def test_a_resent_batch_gets_the_same_answer_and_records_nothing_more(client, live, token, crop):
    batch = _batch(_alert(live, crop), _receipt())
    first = _post(client, token, live.pk, batch)
    assert first.status_code == 201
    recorded = _rows()
    again = _post(client, token, live.pk, batch)
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    assert _rows() == recorded
    other = {**batch, "tracks": [_receipt()]}
    conflict = _post(client, token, live.pk, other)
    assert conflict.status_code == 409 and _rows() == recorded


def test_a_batch_seen_while_live_is_accepted_after_the_stop_and_one_seen_after_is_refused(
    client, live, token, crop, actors
):
    seen_live = _batch(_alert(live, crop, seconds_ago=2), _receipt(seconds_ago=2))
    deployments.emergency_stop(actors.privacy, REASON, live)
    late = _post(client, token, live.pk, seen_live)
    assert late.status_code == 201, late.content
    assert len(late.json()["alerts"]) == 1 and late.json()["receipts"] == 1
    after = _receipt(seconds_ago=0.01, faces=1, frames=1)
    after["first_seen"] = after["last_seen"]  # seen after the stop
    refused = _post(client, token, live.pk, _batch(after))
    assert refused.status_code == 403 and "outside the periods" in refused.json()["detail"]
    [ledger] = reconciliation.ledgers()
    assert ledger.reconciles and ledger.tracks == 2


def test_a_batch_with_tracks_outside_the_window_names_them_and_records_nothing(client, live, token, actors):
    """The agent then sends the others again without them (a new batch id): the batch stays whole or nothing."""
    deployments.emergency_stop(actors.privacy, REASON, live)
    before, after, future = _receipt(seconds_ago=2), _receipt(faces=1, frames=1), _receipt()
    [(_, closed)] = deployments.live_periods(live)
    after["first_seen"] = after["last_seen"] = (closed + datetime.timedelta(milliseconds=1)).isoformat()  # after it
    future["last_seen"] = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    rows = _rows()
    refused = _post(client, token, live.pk, _batch(before, after, future))
    assert refused.status_code == 403
    assert refused.json()["tracks"] == [future["track"], after["track"]]
    assert after["track"] in refused.json()["detail"] and "send the other tracks again" in refused.json()["detail"]
    assert _rows() == rows
    assert _post(client, token, live.pk, _batch(before)).status_code == 201


def test_a_late_alert_says_so_on_its_api_and_page(client, live, token, crop, settings, actors, api):
    settings.AGENT_LATE_SECONDS = 1
    sent = _post(client, token, live.pk, _batch(_alert(live, crop, seconds_ago=3)))
    alert = Alert.objects.get(pk=sent.json()["alerts"][0])
    assert alert.late_by is not None and alert.late_by.total_seconds() >= 3
    body = api(actors.officer).get(f"/api/matching/alerts/{alert.pk}/?reason=Checking+the+late+alert").json()
    assert body["late"] >= 3 and body["last_seen"] and body["received_at"] and body["frames"] == 40
    client.force_login(actors.officer)
    page = client.get(f"/matching/deployments/{live.pk}/alerts/?reason=Checking+the+late+alert")
    assert page.status_code == 200 and "arrived late" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_connections_resending_a_batch_at_once_record_it_once(live, vans, crop):
    import threading

    from django.db import connections

    from apps.matching.api.serializers import AgentBatchSerializer
    from apps.matching.services import tracks

    body = _batch(_alert(live, crop), _receipt())
    valid = AgentBatchSerializer(data=body)
    assert valid.is_valid(), valid.errors
    sent = [tracks.Track(**{**t, "track": str(t["track"])}) for t in valid.validated_data["tracks"]]
    barrier, results = threading.Barrier(2), []

    def send():
        try:
            barrier.wait()
            results.append(tracks.record_batch(vans[0], live.pk, valid.validated_data["batch"], sent, body))
        except Exception as exc:  # the result either way
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(answer.created for answer in results) == [False, True], results
    assert results[0].body["alerts"] == results[1].body["alerts"]
    assert (Capture.objects.count(), Alert.objects.count(), DeletionReceipt.objects.count()) == (1, 1, 1)


# --- What the review of the merge found (counts that cannot be typed, a track once, late only within limits) ---------


def test_a_track_recorded_by_one_batch_is_refused_in_another(client, live, token):
    track = _receipt()
    assert _post(client, token, live.pk, _batch(track)).status_code == 201
    recorded = _rows()
    again = _post(client, token, live.pk, _batch(track, _receipt()))
    assert again.status_code == 409 and track["track"] in again.json()["detail"]
    assert _rows() == recorded


def test_a_track_cannot_claim_more_frames_than_its_time_on_camera_allows(client, live, token, settings):
    settings.AGENT_MAX_FPS = 30
    instant = _receipt(faces=1_000, frames=1_000)
    instant["first_seen"] = instant["last_seen"]
    refused = _post(client, token, live.pk, _batch(instant))
    assert refused.status_code == 400 and "at most 1 frames" in json.dumps(refused.json())
    assert _post(client, token, live.pk, _batch(_receipt(faces=121, frames=121))).status_code == 201  # 4 s at 30/s
    assert _post(client, token, live.pk, _batch(_receipt(faces=122, frames=122))).status_code == 400


def test_the_published_faces_count_past_two_to_the_31(client, live, token):
    from apps.deployments.models import PublishedFigures

    assert _post(client, token, live.pk, _batch(_receipt(faces=1, frames=1))).status_code == 201  # makes the row
    assert PublishedFigures.objects.filter(deployment=live).update(faces_processed=2**31 - 10) == 1
    assert _post(client, token, live.pk, _batch(_receipt(faces=100, frames=100))).status_code == 201
    assert PublishedFigures.objects.get(deployment=live).faces_processed == 2**31 + 90


def test_a_deployment_number_in_other_scripts_digits_is_a_400(client, live, token):
    for what in ("session", "status"):
        assert _get(client, what, token, "²").status_code == 400
    assert _post(client, token, "\u0661", _batch(_receipt())).status_code == 400  # Arabic-Indic one


def test_tracks_are_refused_while_the_deployment_is_live_but_its_list_left_force(client, live, token, crop):
    from apps.watchlists.models import Watchlist

    Watchlist.objects.filter(pk=live.watchlist_id).update(state="draft", approved_hash="")
    assert _get(client, "status", token, live.pk).json()["live"] is False
    refused = _post(client, token, live.pk, _batch(_receipt(seconds_ago=0.5), _alert(live, crop, seconds_ago=0.5)))
    assert refused.status_code == 403
    assert _rows() == (0, 0, 0, 0, 0)


def test_a_batch_seen_longer_ago_than_the_late_limit_is_refused(client, live, token, settings):
    settings.AGENT_MAX_LATE_SECONDS = 60
    refused = _post(client, token, live.pk, _batch(_receipt(seconds_ago=120)))
    assert refused.status_code == 403 and "too late" in refused.json()["detail"]
    assert _post(client, token, live.pk, _batch(_receipt(seconds_ago=30))).status_code == 201


def test_a_receipt_cannot_hold_one_time_without_the_other(client, live, token):
    from django.db import IntegrityError, transaction

    assert _post(client, token, live.pk, _batch(_receipt())).status_code == 201
    receipt = DeletionReceipt.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        DeletionReceipt.objects.filter(pk=receipt.pk).update(last_seen=None)
