"""The read-only audit API: restricted by role, strict about its input, proofs that verify offline."""

import pytest
from django.urls import reverse

from apps.audit import notes, services, verifier
from apps.audit.models import Event

pytestmark = pytest.mark.django_db


def _seed_events(actors):
    services.record("account.update", actors.officer, actors.admin, data={"unit": "B"})
    services.record("record.consulted", ("watchlists.entry", 7), actors.officer, reason="deployment briefing")
    services.record("account.login", actors.officer, actors.officer)
    return services.sign_checkpoint()


@pytest.mark.parametrize(
    "url",
    ["/api/audit/events/", "/api/audit/events/0/", "/api/audit/events/0/proof/", "/api/audit/checkpoints/",
     "/api/audit/checkpoints/latest/", "/api/audit/consistency/?first=0&second=1"],
)  # fmt: skip
def test_anonymous_requests_get_401_not_data(actors, api, url):
    _seed_events(actors)
    response = api().get(url)
    assert response.status_code in (401, 403)
    assert "results" not in response.json() and "canonical" not in response.json()


def test_public_key_is_public(api):
    response = api().get("/api/audit/public-key/")
    assert response.status_code == 200
    body = response.json()
    assert body["algorithm"] == "Ed25519"
    assert verifier.key_id(bytes.fromhex(body["public_key_raw"])) == body["key_id"]


def test_privacy_officer_and_oversight_read_every_event(actors, api):
    _seed_events(actors)
    total = Event.objects.count()
    for user in (actors.privacy, actors.oversight):
        response = api(user).get("/api/audit/events/", {"limit": 500})
        assert response.status_code == 200
        assert response.json()["count"] == total


def test_administrator_reads_only_account_events(actors, api):
    _seed_events(actors)
    response = api(actors.admin).get("/api/audit/events/", {"limit": 500})
    actions = {row["action"] for row in response.json()["results"]}
    assert actions and all(action.startswith("account.") for action in actions)
    consultation = Event.objects.get(action="record.consulted")
    assert api(actors.admin).get(f"/api/audit/events/{consultation.seq}/").status_code == 404


@pytest.mark.parametrize("who", ["officer", "compiler", "commander", "retail", "outsider"])
def test_operational_roles_cannot_read_the_log(actors, api, who):
    _seed_events(actors)
    response = api(getattr(actors, who)).get("/api/audit/events/")
    assert (response.status_code == 200 and response.json()["count"] == 0) or response.status_code == 403


def test_events_filter_by_action_actor_target_and_time(actors, api):
    _seed_events(actors)
    client = api(actors.privacy)
    rows = client.get("/api/audit/events/", {"action": "record.consulted"}).json()["results"]
    assert [row["reason"] for row in rows] == ["deployment briefing"]
    rows = client.get("/api/audit/events/", {"actor": "officer"}).json()["results"]
    assert {row["actor_username"] for row in rows} == {"officer"}
    rows = client.get("/api/audit/events/", {"target_type": "watchlists.entry", "target_id": "7"}).json()["results"]
    assert len(rows) == 1
    rows = client.get("/api/audit/events/", {"since": "2999-01-01T00:00:00Z"}).json()["results"]
    assert rows == []


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"action": "watchlist.teleport"}, "action"),
        ({"since": "last tuesday"}, "since"),
        ({"request_id": "not-a-uuid"}, "request_id"),
        ({"colour": "blue"}, "Unknown query parameter"),
        ({"after_seq": "x"}, "after_seq"),
    ],
)
def test_bad_query_parameters_get_a_clear_400(actors, api, params, complaint):
    _seed_events(actors)
    before = Event.objects.count()
    response = api(actors.privacy).get("/api/audit/events/", params)
    assert response.status_code == 400
    assert complaint in str(response.json())
    assert Event.objects.count() == before


def test_inclusion_proof_from_the_api_verifies_against_the_signed_checkpoint(actors, api):
    checkpoint = _seed_events(actors)
    client = api(actors.oversight)
    latest = client.get("/api/audit/checkpoints/latest/").json()
    assert latest["tree_size"] == checkpoint.tree_size
    published = api().get("/api/audit/public-key/").json()
    public_key = bytes.fromhex(published["public_key_raw"])
    root = bytes.fromhex(latest["root_hash"])
    import base64

    assert verifier.verify_checkpoint(
        public_key, latest["tree_size"], root, None, base64.b64decode(latest["signature"]), latest["origin"]
    )
    # The published note opens with the published verifier key, and states the same tree.
    stated, _ = notes.open_checkpoint(
        latest["note"], published["origin"], [notes.VerifierKey.parse(published["verifier_key"])]
    )
    assert (stated.size, stated.root_hash) == (latest["tree_size"], root)
    for seq in range(latest["tree_size"]):
        proof = client.get(f"/api/audit/events/{seq}/proof/").json()
        event = client.get(f"/api/audit/events/{seq}/").json()
        assert proof["leaf_hash"] == verifier.leaf_hash(event["canonical"].encode()).hex()
        assert verifier.verify_inclusion(
            seq, latest["tree_size"], bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(h) for h in proof["audit_path"]], root,
        )  # fmt: skip


def test_consistency_proof_from_the_api_verifies(actors, api):
    first = _seed_events(actors)
    services.record("account.logout", actors.officer, actors.officer)
    second = services.sign_checkpoint()
    body = (
        api(actors.oversight)
        .get("/api/audit/consistency/", {"first": first.tree_size, "second": second.tree_size})
        .json()
    )
    assert verifier.verify_consistency(
        first.tree_size, second.tree_size, bytes(first.root_hash), bytes(second.root_hash),
        [bytes.fromhex(h) for h in body["proof"]],
    )  # fmt: skip


@pytest.mark.parametrize(
    "query", [{"first": 5, "second": 2}, {"first": 0, "second": 999}, {"first": "a", "second": 1}, {"first": -1}]
)
def test_bad_proof_requests_get_400(actors, api, query):
    _seed_events(actors)
    response = api(actors.oversight).get("/api/audit/consistency/", query)
    assert response.status_code == 400


def test_inclusion_proof_beyond_the_tree_size_is_400(actors, api):
    _seed_events(actors)
    response = api(actors.privacy).get("/api/audit/events/2/proof/", {"tree_size": 1})
    assert response.status_code == 400


def test_the_api_is_read_only(actors, api):
    _seed_events(actors)
    before = Event.objects.count()
    client = api(actors.privacy)
    assert client.post("/api/audit/events/", {"action": "account.login"}, format="json").status_code == 405
    assert client.delete("/api/audit/events/0/").status_code == 405
    assert client.put("/api/audit/checkpoints/1/", {}, format="json").status_code == 405
    assert Event.objects.count() == before


def test_schema_and_docs_are_served(client):
    assert client.get(reverse("schema")).status_code == 200
    docs = client.get(reverse("swagger-ui"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
