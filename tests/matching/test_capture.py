"""The real pipeline on a real photo: enrol on approval, match a frame, destroy what does not match, with receipts.

The engine is uncalibrated here (no real weights can be downloaded): the same pixels give the same vector, so
these are honest pipeline tests, not recognition tests.
"""

import datetime
import io
import uuid

import numpy as np
import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save
from PIL import Image

from apps.audit import proofs, verifier
from apps.audit.models import Event
from apps.deployments import services as deployments
from apps.matching.models import Alert, Capture, DeletionReceipt, WatchlistTemplate
from apps.matching.services import alert_handling, engine_approval, enrolment, live_capture
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Watchlist
from apps.watchlists.services import watchlists
from govern import data_key_files, encryption

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_enrolment_records_the_engine_with_every_template(live):
    template = WatchlistTemplate.objects.get(watchlist=live.watchlist)
    name, weights, calibrated = engine_approval.engine_identity()
    assert (template.engine, template.weights_sha256) == (name, weights)
    assert not calibrated and name.endswith("uncalibrated-seed0")
    assert template.approved_hash == live.authorised_watchlist_hash


def test_an_enrolled_face_reposted_as_a_frame_matches_its_own_template(live, vans, astronaut):
    result = live_capture.capture_frame(vans[0], astronaut)
    assert result.faces == 1 and len(result.alerts) == 1 and result.receipts == 0
    alert = Alert.objects.get(pk=result.alerts[0])
    assert alert.score > 0.99 and alert.subject.family_name == "Collins"
    assert alert.engine == engine_approval.engine_identity()[0]
    assert alert.watchlist_hash == live.authorised_watchlist_hash
    assert bytes(alert.probe_ciphertext)[:4] == b"GVD1"  # under its own data key, in the key store (crypto-shredding)
    assert data_key_files.read(encryption.data_key_id(bytes(alert.probe_ciphertext))) is not None
    assert Event.objects.filter(action="alert.raised", target_id=str(alert.pk)).exists()
    # Written on the frame's own cursor, not by the ORM's save: every field as the model defines it, and no signal
    # that a save would have sent is listened to.
    assert not (pre_save.has_listeners(Alert) or post_save.has_listeners(Alert))
    assert (alert.state, alert.threshold, alert.capture_id) == ("pending", live.threshold, uuid.UUID(result.capture_id))
    assert alert.candidates[0] == {"subject": alert.subject_id, "entry": alert.entry_id, "score": round(alert.score, 6)}
    assert [alert.adjudicated_by, alert.adjudicated_at, alert.engaged_at, alert.probe_deleted_at] == [None] * 4
    assert alert.outcome == alert.outcome_note == alert.hold_reason == alert.adjudication_reason == ""


def _list_without_the_astronaut(live) -> None:
    """Replace the list's templates with a random face, so the astronaut's frames leave receipts."""
    other = np.random.default_rng(7).normal(size=512).astype(np.float32)
    WatchlistTemplate.objects.filter(watchlist=live.watchlist).update(
        embedding=(other / np.linalg.norm(other)).tolist()
    )
    enrolment.templates.cache_clear()


def test_a_face_not_on_the_list_leaves_only_a_receipt_and_nothing_to_rebuild_it(live, vans, astronaut):
    _list_without_the_astronaut(live)
    result = live_capture.capture_frame(vans[0], astronaut)
    assert (result.faces, result.alerts, result.receipts) == (1, [], 1)
    receipt = DeletionReceipt.objects.get()
    assert receipt.best_score < float(live.threshold) and len(receipt.commitment) == 64
    event = Event.objects.get(seq=receipt.event_seq)
    assert event.action == "face.deleted" and event.data["commitment"] == receipt.commitment
    checkpoint = __import__("apps.audit.services", fromlist=["sign_checkpoint"]).sign_checkpoint()
    proof = proofs.inclusion(event.seq)
    assert verifier.verify_inclusion(
        event.seq, checkpoint.tree_size, bytes(event.leaf_hash), proof.audit_path, bytes(checkpoint.root_hash)
    )
    # No table holds a vector for this face: the only vectors in the database are the enrolled template's.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM matching_watchlisttemplate")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT table_name FROM information_schema.columns WHERE udt_name IN ('vector', 'halfvec')")
        vector_tables = {row[0] for row in cursor.fetchall()}
        assert vector_tables == {"matching_watchlisttemplate", "matching_custodytemplate", "matching_custodyreduced"}
        for table in ("matching_custodytemplate", "matching_custodyreduced"):  # this test enrolled no custody image
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone()[0] == 0
    assert not Alert.objects.exists()


def test_a_frame_without_faces_changes_no_count(live, vans, blank):
    result = live_capture.capture_frame(vans[0], blank)
    assert (result.faces, result.alerts, result.receipts) == (0, [], 0)
    assert alert_handling.reconciliation(live)["reconciles"]


def test_faces_equal_alerts_plus_receipts_after_a_run(live, vans, astronaut, blank):
    for frame in (astronaut, blank, astronaut):
        live_capture.capture_frame(vans[0], frame)
    counts = alert_handling.reconciliation(live)
    assert counts == {"faces": 2, "alerts": 2, "receipts": 0, "reconciles": True}
    assert Capture.objects.count() == 3


def test_frames_are_refused_when_the_deployment_is_not_live_or_the_camera_is_elsewhere(live, vans, astronaut):
    with pytest.raises(live_capture.CaptureRefused, match="not booked on a deployment that is live"):
        live_capture.capture_frame(vans[1], astronaut)  # a camera of no live deployment
    with pytest.raises(live_capture.CaptureRefused, match="not booked on a deployment that is live"):
        live_capture.capture_frame(vans[0], astronaut, now=live.end + datetime.timedelta(minutes=1))  # after the end
    with pytest.raises(live_capture.CaptureRefused, match="belongs to"):
        live_capture.capture_frame(vans[0], astronaut, deployment_id=live.pk + 1000)
    assert not Capture.objects.exists() and not Alert.objects.exists()
    assert Event.objects.filter(action="capture.refused").count() == 3


def test_a_list_whose_images_fail_the_quality_gate_goes_back_to_the_compiler(approved_watchlist):
    watchlist = approved_watchlist()  # its image is a drawing: MTCNN finds no face in it
    result = enrolment.enrol_watchlist(watchlist.pk, watchlist.approved_hash)
    assert result.enrolled == 0 and "0 faces found" in result.problems[0]
    returned = Watchlist.objects.get(pk=watchlist.pk)
    assert returned.state == WatchlistState.RETURNED and not WatchlistTemplate.objects.exists()
    assert "quality gate" in returned.reviews.order_by("-id").first().comment


def test_the_capture_api_needs_a_camera_credential(live, vans, astronaut, approvers, client):
    url = "/api/matching/capture/"
    assert client.post(url, astronaut, content_type="image/jpeg").status_code == 401
    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    response = client.post(url, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")
    assert response.status_code == 201, response.content
    assert response.json()["faces"] == 1 and len(response.json()["alerts"]) == 1
    bad = client.post(url, b"not a jpeg", content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {token}")
    assert bad.status_code == 400
    other = live_capture.issue_credential(approvers.superintendent, vans[1])
    refused = client.post(url, astronaut, content_type="image/jpeg", HTTP_AUTHORIZATION=f"Camera {other}")
    assert refused.status_code == 403 and "not booked" in refused.json()["detail"]


def test_going_live_needs_an_approved_engine(actors, approvers, planned, now):
    from apps.matching.models import EngineApproval

    EngineApproval.objects.all().delete()
    deployment = deployments.authorise(approvers.superintendent, planned, revision=planned.revision, now=now)
    conditions = {c.name: c for c in deployments.gate(deployment, deployment.start)}
    assert not conditions["engine"].ok and "not approved for live use" in conditions["engine"].detail


def test_an_uncalibrated_engine_is_refused_unless_the_setting_allows_it(live, settings):
    settings.FACE_ALLOW_UNCALIBRATED = False
    assert "uncalibrated" in engine_approval.engine_refusal()


def test_purging_the_list_deletes_its_templates_and_logs_it(live):
    watchlist = live.watchlist
    deployments.run_schedule(now=live.end + datetime.timedelta(minutes=1))
    watchlists.sweep(now=live.end + datetime.timedelta(days=2))
    assert Watchlist.objects.get(pk=watchlist.pk).state == WatchlistState.PURGED
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM matching_watchlisttemplate WHERE watchlist_id = %s", [watchlist.pk])
        assert cursor.fetchone()[0] == 0
    event = Event.objects.get(action="templates.purged", target_id=str(watchlist.pk))
    assert event.data == {"templates_deleted": 1, "absence_confirmed_by_exact_search": True}


def test_a_van_that_detects_faces_itself_posts_crops(live, vans, astronaut, approvers, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.matching.engine import get_engine

    face = get_engine().detect(Image.open(io.BytesIO(astronaut)))[0]
    crop = face.crop_jpeg()
    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    response = client.post(
        "/api/matching/capture/crops/",
        {"crop": [SimpleUploadedFile("a.jpg", crop, "image/jpeg"), SimpleUploadedFile("b.jpg", crop, "image/jpeg")]},
        HTTP_AUTHORIZATION=f"Camera {token}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["faces"] == 2 and len(response.json()["alerts"]) == 2
    assert alert_handling.reconciliation(live)["reconciles"]
    empty = client.post("/api/matching/capture/crops/", {}, HTTP_AUTHORIZATION=f"Camera {token}")
    assert empty.status_code == 400


@pytest.mark.django_db(databases=[])
@pytest.mark.parametrize("size", [0, 1, 3, 5, 6, 20_000])
def test_a_faces_best_templates_are_the_exact_top_k_with_ties_by_position(size):
    """The list's templates are scanned whole, every score: the k best equal an exact float64 search of the stored
    float16 values, best first; ties (duplicated templates, at the top and across the k-th place) go to the lower
    position, so the entry an alert names never depends on the scan's order."""
    from apps.matching.list_index import ListIndex

    rng = np.random.default_rng(size)
    templates = rng.standard_normal((size, 512)).astype(np.float32)
    templates /= np.linalg.norm(templates, axis=1, keepdims=True) if size else 1
    faces = rng.standard_normal((4, 512)).astype(np.float32)
    if size > 10:
        templates[[7, 11]] = templates[3]  # three tied at the top for the first face
        faces[0] = templates[3]
        # for the second face: the 5th best copied to two later positions, three tied across the k-th place
        fifth = np.argsort(-(templates.astype(np.float64) @ faces[1].astype(np.float64)), kind="stable")[4]
        templates[[size - 2, size - 1]] = templates[fifth]
    halves = templates.astype(np.float16)
    index = ListIndex(halves, [(position, position + 1) for position in range(size)])
    exact = faces.astype(np.float64) @ halves.astype(np.float64).T
    for k in (1, 5):
        scores, positions = index.nearest(faces, k)
        assert scores.shape == positions.shape == (4, min(k, size))
        for row in range(4):
            expected = np.lexsort((np.arange(size), -exact[row].astype(np.float32)))[:k]
            assert positions[row].tolist() == expected.tolist()
            assert np.allclose(scores[row], exact[row][expected], atol=1e-5)
    if size > 10:
        assert index.nearest(faces[:1], 1)[1][0, 0] == 3
        assert index.nearest(faces[1:2], 5)[1][0, 4] == fifth

        def later_of_ties_first(vectors, count):  # a scan that keeps the later of tied templates
            rows = [np.lexsort((-np.arange(size), -(halves.astype(np.float32) @ vector)))[:count] for vector in vectors]
            return np.stack(
                [halves.astype(np.float32)[row] @ v for row, v in zip(rows, vectors, strict=True)]
            ), np.stack(rows)

        index._search = later_of_ties_first
        assert index.nearest(faces[:1], 1)[1][0, 0] == 3
        assert index.nearest(faces[1:2], 5)[1][0, 4] == fifth


@pytest.mark.django_db(databases=[])
def test_a_lists_codes_are_made_and_scanned_on_the_calling_thread_alone_and_bad_vectors_are_refused(monkeypatch):
    """The worker's core is the face engine's: FAISS encodes and scans on one thread, and the thread's own OpenMP
    setting is put back after (other FAISS work on it keeps its threads)."""
    import faiss

    from apps.matching import list_index

    threads = []

    class Recording(faiss.IndexScalarQuantizer):
        def add(self, x):
            threads.append(("add", faiss.omp_get_max_threads()))
            return super().add(x)

        def search(self, *args, **kwargs):
            threads.append(("search", faiss.omp_get_max_threads()))
            return super().search(*args, **kwargs)

    monkeypatch.setattr(list_index.faiss, "IndexScalarQuantizer", Recording)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        rng = np.random.default_rng(3)
        index = list_index.ListIndex(rng.standard_normal((50, 512)).astype(np.float16), [(n, n) for n in range(50)])
        index.nearest(rng.standard_normal(512), 5)
        assert threads == [("add", 1), ("search", 1)]
        assert faiss.omp_get_max_threads() == 2
        for bad in (np.zeros((2, 256)), np.zeros((1, 2, 512)), np.full(512, np.nan), np.full((2, 512), np.inf)):
            with pytest.raises(ValueError, match="512-d"):
                index.nearest(bad, 5)
    finally:
        faiss.omp_set_num_threads(before)


@pytest.fixture
def sent(monkeypatch):
    """Every statement the driver sends from here on, Django's cursors and the driver's own alike, each with whether
    it went in a pipeline (no round trip of its own): (sql, pipelined)."""
    import psycopg

    statements = []
    execute = psycopg.Cursor.execute

    def recorded(cursor, query, *args, **kwargs):
        statements.append((str(query).strip(), cursor.connection._pipeline is not None))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
    return statements


def test_a_frame_adds_to_the_figures_without_recounting_the_deployment(live, vans, astronaut, blank, sent):
    """A frame's cost must not grow with the deployment's history: it adds its faces and alerts to the figures
    (the frame's capture.processed event says what it added) instead of recounting every capture and alert."""
    from apps.deployments.models import PublishedFigures

    live_capture.capture_frame(vans[0], astronaut)
    events = Event.objects.count()
    sent.clear()
    live_capture.capture_frame(vans[0], astronaut)
    live_capture.capture_frame(vans[0], blank)
    assert [sql for sql, _ in sent if "COUNT(" in sql.upper() or "SUM(" in sql.upper()] == []
    actions = list(Event.objects.filter(seq__gt=events).values_list("action", flat=True))
    assert actions.count("capture.processed") == 2 and "deployment.outcome" not in actions
    figures = PublishedFigures.objects.get(deployment=live)
    assert (figures.faces_processed, figures.alerts) == (2, 2)
    assert figures.faces_processed == sum(Capture.objects.filter(deployment=live).values_list("faces", flat=True))


def test_a_frame_is_admitted_in_one_statement_and_recorded_in_one_pipeline(live, vans, astronaut, blank, sent):
    """Every frame pays for its admission and its record: the camera's live deployment, its list and the engine's
    approval come back in one statement; the capture row is inserted with its counts, never updated; and every
    write of the frame (capture, receipts or alerts, their events, the figures) goes out in one pipeline, without
    a round trip each."""
    live_capture.capture_frame(vans[0], astronaut)
    frames = []
    for frame in (blank, astronaut):  # no face: admission only, and an empty capture; then an alert
        sent.clear()
        live_capture.capture_frame(vans[0], frame)
        frames.append(list(sent))
    _list_without_the_astronaut(live)
    live_capture.capture_frame(vans[0], astronaut)  # the list's templates are read once, outside the count
    sent.clear()
    live_capture.capture_frame(vans[0], astronaut)  # a receipt
    frames.append(list(sent))
    for statements in frames:
        reads = [sql for sql, _ in statements if sql.lstrip("(").startswith("SELECT") and "audit_append" not in sql]
        assert len(reads) == 1, reads  # one admission a frame
        assert "matching_engineapproval" in reads[0] and "watchlists_watchlist" in reads[0]
        writes = [(sql, pipelined) for sql, pipelined in statements if sql not in reads]
        assert [sql for sql, pipelined in writes if not pipelined and "SAVEPOINT" not in sql] == []
        assert not [sql for sql, _ in writes if sql.startswith('UPDATE "matching_capture"')]
    receipt_frame = [sql for sql, _ in frames[-1]]
    assert any(
        sql.startswith("INSERT INTO matching_deletionreceipt") and "audit_append" in sql for sql in receipt_frame
    )
    counts = list(Capture.objects.order_by("received_at").values_list("faces", "alerts", "receipts"))
    assert counts[1:3] == [(0, 0, 0), (1, 1, 0)] and counts[-1] == (1, 0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_frames_admission_is_the_check_of_its_kept_connection(
    live, vans, astronaut, approvers, client, sent, monkeypatch, request
):
    """Django checks a kept connection with `SELECT 1` before a request's first transaction (CONN_HEALTH_CHECKS). A
    frame's admission statement has just used the connection, so the frame sends no `SELECT 1`; and a connection
    the server dropped between two frames (a restart) is reopened by the admission, so the frame is matched, not
    refused."""
    import psycopg

    token = live_capture.issue_credential(approvers.superintendent, vans[0])
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # kept, as in production (tests set 0)
    connection.close()
    request.addfinalizer(connection.close)  # not kept past this test

    def post():
        connection.close_if_unusable_or_obsolete()  # what each request's start does under gunicorn (the test client
        # leaves it out)
        return client.post("/api/matching/capture/", astronaut, content_type="image/jpeg",
                           HTTP_AUTHORIZATION=f"Camera {token}")  # fmt: skip

    assert post().status_code == 201
    sent.clear()
    assert post().status_code == 201
    assert len(sent) > 3 and [sql for sql, _ in sent if sql == "SELECT 1"] == []
    dropped = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k not in ("context", "cursor_factory")}) as other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [dropped])  # returns once the backend has gone
    response = post()
    assert response.status_code == 201, response.content
    assert connection.connection.info.backend_pid != dropped
    assert Capture.objects.count() == 3


def test_a_frame_is_refused_once_the_engines_approval_is_withdrawn(live, vans, astronaut):
    from apps.matching.models import EngineApproval

    live_capture.capture_frame(vans[0], astronaut)
    captures = Capture.objects.count()
    EngineApproval.objects.all().delete()
    with pytest.raises(live_capture.CaptureRefused, match="not approved for live use"):
        live_capture.capture_frame(vans[0], astronaut)
    assert Capture.objects.count() == captures
    refusal = Event.objects.filter(action="capture.refused").latest("seq")
    assert "not approved for live use" in refusal.reason


def _frame_state() -> tuple[int, ...]:
    from apps.deployments.models import PublishedFigures

    figures = list(PublishedFigures.objects.values_list("faces_processed", flat=True))
    return (
        Capture.objects.count(),
        DeletionReceipt.objects.count(),
        Alert.objects.count(),
        Event.objects.count(),
        *figures,
    )


def test_a_statement_failing_inside_the_frames_pipeline_leaves_nothing_and_the_next_frame_works(
    live, vans, astronaut, monkeypatch
):
    """The frame's writes go out together; if the server refuses one, none of them is kept."""
    from django.db import DatabaseError

    _list_without_the_astronaut(live)
    live_capture.capture_frame(vans[0], astronaut)
    before = _frame_state()
    broken = live_capture._RECEIPT_SQL.replace("best_score,", "no_such_column,")
    monkeypatch.setattr(live_capture, "_RECEIPT_SQL", broken)
    with pytest.raises(DatabaseError):
        live_capture.capture_frame(vans[0], astronaut)
    assert _frame_state() == before
    monkeypatch.undo()
    assert live_capture.capture_frame(vans[0], astronaut).receipts == 1
    assert _frame_state()[:2] == (before[0] + 1, before[1] + 1)


def test_admission_reads_only_the_deployments_in_the_live_state(live, vans):
    """A camera's admission must not grow with its history: a van booked on many finished deployments still reads
    one row, its live deployment's."""
    from apps.deployments.models import Deployment

    past = []
    for number in range(30):
        finished = Deployment.objects.get(pk=live.pk)
        finished.pk, finished.reference, finished.state = None, f"PAST-{number}", "completed"
        past.append(finished)
    Deployment.assets.through.objects.bulk_create(
        [
            Deployment.assets.through(deployment_id=d.pk, asset_id=vans[0].pk)
            for d in Deployment.objects.bulk_create(past)
        ]
    )
    rows = live_capture._camera_rows(live_capture._BY_ASSET, vans[0].pk)
    assert [row[len(live_capture._ASSET_FIELDS) + 1] for row in rows] == [live.pk]
    assert live_capture.live_deployment_for(live_capture.camera_for_asset(vans[0]), live.start).pk == live.pk


def test_a_frames_statements_are_prepared_and_no_other_statement_is_remembered(live, vans, astronaut):
    """Preparing is switched on only for the frame's own statements: psycopg keeps no text of any other statement,
    where Django's client-side binding would leave its values (a probe's vector, say) in the worker's memory."""
    from apps.deployments.models import Deployment

    live_capture.capture_frame(vans[0], astronaut)
    assert Deployment.objects.filter(reference="REMEMBER-ME-NOT").count() == 0
    live_capture.capture_frame(vans[0], astronaut)
    memory = connection.connection._prepared
    assert memory.prepare_threshold is None and not memory._counts
    assert not [key for key in memory._names if b"REMEMBER-ME-NOT" in key[0]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("matching_engineapproval" in sql for sql in statements)  # the admission
    assert any(sql.lstrip().startswith("INSERT INTO deployments_publishedfigures") for sql in statements)  # the figures


@pytest.mark.django_db(transaction=True)
def test_first_frames_racing_to_make_the_figures_row_both_count(live, vans, astronaut):
    """Before a deployment's first frame it has no figures row; two frames may race to make it. The one that loses
    adds to the other's row instead of failing."""
    import threading
    import time

    import psycopg

    from apps.deployments.models import PublishedFigures

    assert not PublishedFigures.objects.filter(deployment=live).exists()
    params = connection.get_connection_params()
    other = psycopg.connect(**{k: v for k, v in params.items() if k not in ("context", "cursor_factory")})
    other.execute(
        "INSERT INTO deployments_publishedfigures (deployment_id, faces_processed, alerts, true_alerts, false_alerts, "
        "engagements, arrests, other_outcomes, updated_at) VALUES (%s, 5, 0, 0, 0, 0, 0, 0, now())",
        [live.pk],
    )
    threading.Timer(1.0, other.commit).start()  # the other frame commits while this one waits on its row
    try:
        result = live_capture.capture_frame(vans[0], astronaut)
    finally:
        time.sleep(1.2)
        other.close()
    assert result.faces == 1
    assert PublishedFigures.objects.get(deployment=live).faces_processed == 6
    assert not Event.objects.filter(action="deployment.outcome").exists()  # the row was not this frame's to make
