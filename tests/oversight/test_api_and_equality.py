"""The oversight API (ledgers, retention, governed changes, notifications)."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
WHY = "Laboratory retest of the engine at 0.64 shows lower FPIR with no demographic imbalance."


def test_the_api_serves_ledgers_and_purges_to_overseers_only(actors, ledgered, api):
    ledgers = api(actors.oversight).get("/api/oversight/ledgers/")
    assert ledgers.status_code == 200
    (row,) = [r for r in ledgers.json()["results"] if r["reference"] == ledgered.reference]
    assert (row["faces"], row["alerts"], row["receipts"], row["reconciles"]) == (3, 1, 2, True)
    assert api(actors.privacy).get("/api/oversight/purges/").status_code == 200
    for user in (actors.officer, actors.retail, actors.admin, None):
        assert api(user).get("/api/oversight/ledgers/").status_code in (401, 403)


def test_retention_and_the_sweep_through_the_api(actors, api):
    client = api(actors.privacy)
    set_ = client.post(
        "/api/oversight/retention/set/", {"data_class": "false_alerts", "hours": 48, "reason": WHY}, format="json"
    )
    assert set_.status_code == 200 and set_.json()["hours"] == 48
    statuses = {s["data_class"]: s for s in client.get("/api/oversight/retention/").json()}
    assert statuses["false_alerts"]["hours"] == 48 and statuses["access_logs"]["hours"] >= 6 * 365 * 24
    bad = client.post(
        "/api/oversight/retention/set/", {"data_class": "access_logs", "hours": 1, "reason": WHY}, format="json"
    )
    assert bad.status_code == 400 and "legal period" in str(bad.json())
    assert client.post("/api/oversight/retention/sweep/?dry_run=true").json() == []
    assert api(actors.oversight).post("/api/oversight/retention/sweep/").status_code == 403


def test_a_threshold_change_proposed_and_countersigned_through_the_api(actors, approvers, api, evidence, engine_report):
    proposal = {
        "kind": "threshold",
        "threshold": "0.650",
        "reason": WHY,
        "equality_evidence": "Section 4: FPIR within the intervals for every group.",
        "evaluation": engine_report.pk,
        "evidence": evidence(),
    }
    created = api(approvers.superintendent).post("/api/oversight/changes/", proposal, format="multipart")
    assert created.status_code == 201, created.json()
    change = created.json()
    assert change["state"] == "proposed" and change["evidence_sha256"]
    without = {k: v for k, v in proposal.items() if k not in ("evidence", "evaluation")}
    refused = api(approvers.superintendent2).post("/api/oversight/changes/", without, format="multipart")
    assert refused.status_code == 400 and "evaluation" in refused.json()  # a report file alone never sufficed
    assert api(approvers.superintendent).post(f"/api/oversight/changes/{change['id']}/countersign/").status_code == 403
    signed = api(actors.privacy).post(f"/api/oversight/changes/{change['id']}/countersign/", {"note": "Read it."})
    assert signed.status_code == 200 and signed.json()["state"] == "in_force"
    again = api(actors.privacy).post(f"/api/oversight/changes/{change['id']}/countersign/")
    assert again.status_code == 409


def test_notifications_are_the_privacy_officers(actors, api):
    assert api(actors.privacy).get("/api/oversight/notifications/").status_code == 200
    assert api(actors.oversight).get("/api/oversight/notifications/").status_code == 403
