"""The requests desk's rules: the one-month clock and its extension, identity before a decision, four eyes, refusal
on a ground of the fixed list, linking by PNC ID or name and date of birth (a logged consultation), the response,
and a restriction that keeps the person off watchlists while it stands."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from apps.audit import services as audit
from apps.audit.choices import CONSULTATION_ACTION
from apps.audit.models import Event
from apps.matching.models import Probe, SearchRequest
from apps.rights import services
from apps.rights.choices import Decision, RefusalGround, RequestKind, RequestState
from apps.rights.models import RightsRequest
from apps.watchlists import selectors as watchlist_selectors
from apps.watchlists.models import CustodyImage, Subject
from apps.watchlists.services import watchlists
from govern.errors import Conflict
from tests.watchlist_fixtures import compile_watchlist, list_person

from .conftest import LONDON, granted, logged, verified

pytestmark = pytest.mark.django_db


def test_the_month_runs_from_receipt_by_the_calendar(desk):
    request = logged(desk.privacy, received_at=datetime.datetime(2026, 1, 31, 10, 0, tzinfo=LONDON))
    assert request.reference.startswith("DSR-")
    assert request.due_at.astimezone(LONDON) == datetime.datetime(2026, 2, 28, 10, 0, tzinfo=LONDON)
    assert Event.objects.filter(action="rights_request.log", target_id=str(request.pk)).count() == 1
    assert "Adam" not in Event.objects.get(action="rights_request.log").canonical


def test_an_extension_needs_a_reason_and_stops_at_two_months(desk):
    request = logged(desk.privacy, received_at=datetime.datetime(2026, 3, 10, 9, 0, tzinfo=LONDON))
    with pytest.raises(ValidationError):
        services.extend(desk.privacy, request, months=1, reason="")
    services.extend(desk.privacy, request, months=2, reason="Records held on three systems; complex")
    request.refresh_from_db()
    assert request.due_at.astimezone(LONDON) == datetime.datetime(2026, 6, 10, 9, 0, tzinfo=LONDON)
    with pytest.raises(ValidationError):
        services.extend(desk.privacy, request, months=1, reason="Still more records to search")
    with pytest.raises(ValidationError):
        services.extend(desk.privacy, logged(desk.privacy), months=True, reason="Records held on three systems")


def test_bad_input_is_refused_and_changes_nothing(desk):
    with pytest.raises(ValidationError) as refused:
        logged(desk.privacy, kind="anything", channel="pigeon", requester_name=" ", requester_contact="")
    assert {"kind", "channel", "requester_name", "requester_contact"} <= set(refused.value.message_dict)
    future = datetime.datetime.now(LONDON) + datetime.timedelta(days=2)
    with pytest.raises(ValidationError) as refused:
        logged(desk.privacy, received_at=future)
    assert "received_at" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        logged(desk.privacy, kind=RequestKind.ERASURE, details="erase")
    assert "details" in refused.value.message_dict
    with pytest.raises(ValidationError):
        logged(desk.privacy, unknown_field="x")
    assert not RightsRequest.objects.exists()
    assert not Event.objects.filter(action="rights_request.log").exists()


def test_no_decision_before_the_identity_check(desk):
    request = logged(desk.privacy)
    with pytest.raises(Conflict):
        services.decide(desk.privacy2, request, decision=Decision.GRANT)
    request.refresh_from_db()
    assert request.state == RequestState.RECEIVED and request.decided_by is None


def test_the_person_who_logged_a_request_cannot_decide_it(desk):
    request = verified(desk.privacy, logged(desk.privacy))
    with pytest.raises(PermissionDenied, match="another privacy officer"):
        services.decide(desk.privacy, request, decision=Decision.GRANT)
    decided = services.decide(desk.privacy2, request, decision=Decision.GRANT)
    assert decided.state == RequestState.DECIDED and decided.decided_by == desk.privacy2


def test_the_database_also_refuses_the_logger_as_decider(desk):
    request = verified(desk.privacy, logged(desk.privacy))
    with pytest.raises(IntegrityError), transaction.atomic():
        RightsRequest.objects.filter(pk=request.pk).update(decided_by=desk.privacy, decision=Decision.GRANT)


def test_a_refusal_names_its_ground_from_the_fixed_list(desk):
    request = verified(desk.privacy, logged(desk.privacy))
    for ground, note in (
        ("", "Would prejudice an investigation"),
        ("because", "Would prejudice it"),
        (RefusalGround.PREJUDICE_CRIME, ""),
    ):
        with pytest.raises(ValidationError):
            services.decide(desk.privacy2, request, decision=Decision.REFUSE, refusal_ground=ground, note=note)
    with pytest.raises(ValidationError):
        services.decide(desk.privacy2, request, decision="maybe")
    refused = services.decide(
        desk.privacy2,
        request,
        decision=Decision.REFUSE,
        refusal_ground=RefusalGround.PREJUDICE_CRIME,
        note="An investigation is live; telling would tip the person off",
    )
    assert refused.refusal_ground == RefusalGround.PREJUDICE_CRIME
    event = Event.objects.get(action="rights_request.decide")
    assert "prejudice_crime" in event.canonical


def test_linking_by_pnc_id_or_name_and_birth_is_a_logged_consultation(desk, gallery):
    adult, _ = gallery.adult
    request = logged(desk.privacy)
    searches = Event.objects.filter(action=CONSULTATION_ACTION, target_type="watchlists.subject", target_id="search")
    services.link_subject(desk.privacy, request, name="adam example", date_of_birth=datetime.date(1990, 5, 17))
    request.refresh_from_db()
    assert request.subject == adult and request.linked_by == desk.privacy
    assert searches.count() == 1 and request.reference in searches.get().reason
    missed = services.link_subject(
        desk.privacy, logged(desk.privacy), name="Adam Example", date_of_birth=datetime.date(1990, 5, 18)
    )
    assert missed.matches == 0 and missed.request.subject is None
    assert searches.count() == 2  # a look-up that finds nobody was still a look-up
    with pytest.raises(ValidationError):
        services.link_subject(desk.privacy, request, name="Example")
    assert searches.count() == 2  # nothing to look up by: refused before any read
    linked = services.link_subject(desk.privacy, logged(desk.privacy), pnc_id=" 90/123456a ")
    assert linked.request.subject == adult and linked.matches == 1


def test_the_response_closes_and_locks_the_request(desk):
    request = granted(desk.privacy, desk.privacy2, logged(desk.privacy))
    with pytest.raises(ValidationError):
        services.respond(desk.privacy, request, response="ok")
    closed = services.respond(desk.privacy, request, response="Response pack sent by recorded post")
    assert closed.state == RequestState.CLOSED and closed.responded_by == desk.privacy
    with pytest.raises(Conflict):
        services.extend(desk.privacy, closed, months=1, reason="Too late to extend a closed request")


def test_only_privacy_officers_work_the_desk_and_officers_may_log(desk, actors):
    request = logged(actors.officer)
    assert request.logged_by == actors.officer
    for outsider in (actors.commander, actors.compiler, actors.oversight, actors.retail, actors.admin, actors.outsider):
        with pytest.raises(PermissionDenied):
            logged(outsider)
    for someone in (actors.officer, actors.commander, actors.compiler, actors.oversight, actors.admin):
        with pytest.raises(PermissionDenied):
            verified(someone, request)
    verified(desk.privacy, request)
    with pytest.raises(PermissionDenied):
        services.decide(actors.officer, request, decision=Decision.GRANT)
    assert services.decide(desk.privacy, request, decision=Decision.GRANT).decided_by == desk.privacy


def test_a_granted_erasure_or_rectification_needs_the_record_linked(desk):
    for kind in (RequestKind.ERASURE, RequestKind.RECTIFICATION, RequestKind.RESTRICTION):
        request = verified(desk.privacy, logged(desk.privacy, kind=kind, details="Erase my custody photograph please"))
        with pytest.raises(ValidationError):
            services.decide(desk.privacy2, request, decision=Decision.GRANT)


def test_a_granted_erasure_erases_the_person_and_keeps_the_request(desk, gallery):
    adult, image = gallery.adult
    request = logged(desk.privacy, kind=RequestKind.ERASURE, details="I was never charged: erase my photograph")
    decided = services.decide(
        desk.privacy2, verified(desk.privacy, request, adult), decision=Decision.GRANT, convicted=False
    )
    assert decided.decision == Decision.GRANT and decided.convicted is False
    assert not Subject.objects.filter(pk=adult.pk).exists() and not CustodyImage.objects.filter(pk=image.pk).exists()
    decided.refresh_from_db()
    assert decided.subject is None and decided.state == RequestState.DECIDED
    decision = Event.objects.get(action="rights_request.decide", target_id=str(decided.pk))
    receipt = Event.objects.get(action="subject.erase", target_id=str(adult.pk))
    assert decision.data["erasure"] == receipt.seq and decision.data["convicted"] is False
    assert receipt.actor_username == "privacy2" and decided.reference in receipt.reason


def test_an_erasure_decision_records_the_conviction(desk, gallery):
    adult, _ = gallery.adult
    request = verified(
        desk.privacy, logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photograph"), adult
    )
    with pytest.raises(ValidationError, match="convicted"):
        services.decide(desk.privacy2, request, decision=Decision.GRANT)
    access = verified(desk.privacy, logged(desk.privacy), adult)
    with pytest.raises(ValidationError, match="Only an erasure"):
        services.decide(desk.privacy2, access, decision=Decision.GRANT, convicted=True)
    assert Subject.objects.filter(pk=adult.pk).exists()


def test_refusing_an_unconvicted_persons_erasure_needs_reasons_against_the_presumption(desk, gallery):
    adult, _ = gallery.adult
    request = verified(
        desk.privacy, logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photograph"), adult
    )
    refusal = {"decision": Decision.REFUSE, "refusal_ground": RefusalGround.PREJUDICE_CRIME, "note": "Still wanted"}
    with pytest.raises(ValidationError, match="presumed"):
        services.decide(desk.privacy2, request, convicted=False, **refusal)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
        RightsRequest.objects.filter(pk=request.pk).update(
            decision=Decision.REFUSE, refusal_ground=RefusalGround.PREJUDICE_CRIME, convicted=False
        )
    why = "Charged with a serious violent offence; the trial is set for March"
    decided = services.decide(desk.privacy2, request, convicted=False, presumption_reasons=why, **refusal)
    assert decided.presumption_reasons == why and Subject.objects.filter(pk=adult.pk).exists()
    event = Event.objects.get(action="rights_request.decide", target_id=str(decided.pk))
    assert event.data["presumption_reasons"] == audit.commitment(why) and why not in event.canonical


def test_a_convicted_persons_erasure_may_be_refused_on_its_ground_alone(desk, gallery):
    adult, _ = gallery.adult
    request = verified(
        desk.privacy, logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photograph"), adult
    )
    decided = services.decide(
        desk.privacy2, request, decision=Decision.REFUSE, refusal_ground=RefusalGround.PREJUDICE_CRIME,
        note="Convicted of robbery in 2024; the image is kept for the prevention of crime", convicted=True,
    )  # fmt: skip
    assert decided.convicted is True and not decided.presumption_reasons


def test_an_erasure_refused_by_evidence_leaves_the_request_undecided(desk, actors, gallery):
    adult, _ = gallery.adult
    search = SearchRequest.objects.create(
        reference="RFR-1", submitted_by=actors.officer, incident_reference="CAD 1", crime_type="Theft"
    )
    Probe.objects.create(request=search, position=0, sha256="0" * 64, chosen_subject=adult)
    request = verified(
        desk.privacy, logged(desk.privacy, kind=RequestKind.ERASURE, details="Erase my photograph"), adult
    )
    with pytest.raises(Conflict):
        services.decide(desk.privacy2, request, decision=Decision.GRANT, convicted=False)
    request.refresh_from_db()
    assert request.state == RequestState.VERIFIED and request.decision == ""


def test_a_restriction_granted_keeps_the_person_off_watchlists_until_lifted(desk, actors, gallery, now):
    adult, image = gallery.adult
    other, other_image = gallery.other
    request = logged(desk.privacy, kind=RequestKind.RESTRICTION, details="I contest the accuracy of my record")
    services.decide(desk.privacy2, verified(desk.privacy, request, adult), decision=Decision.GRANT)
    assert watchlist_selectors.restricted_subject_ids() == {adult.pk}
    assert Event.objects.filter(action="subject.restrict", target_id=str(adult.pk)).count() == 1
    watchlist = compile_watchlist(actors.compiler, other, other_image, now=now)
    with pytest.raises(ValidationError, match="restriction of processing"):
        list_person(actors.compiler, watchlist, adult, image, now=now)
    assert not watchlist.entries.filter(subject=adult).exists()
    with pytest.raises(ValidationError):
        services.lift_restriction(desk.privacy2, request, reason="")
    services.lift_restriction(desk.privacy2, request, reason="Accuracy checked against the custody record")
    assert watchlist_selectors.restricted_subject_ids() == set()
    list_person(actors.compiler, watchlist, adult, image, now=now)


def test_a_list_submitted_before_a_restriction_cannot_be_approved(desk, actors, approvers, gallery, now):
    adult, image = gallery.adult
    watchlist = compile_watchlist(actors.compiler, adult, image, now=now)
    review = watchlists.submit(actors.compiler, watchlist, now=now)
    request = logged(desk.privacy, kind=RequestKind.RESTRICTION, details="I contest the accuracy of my record")
    services.decide(desk.privacy2, verified(desk.privacy, request, adult), decision=Decision.GRANT)
    approver = approvers.superintendent if hasattr(approvers, "superintendent") else actors.commander
    with pytest.raises(Conflict, match="restriction of processing"):
        watchlists.approve(approver, watchlist, content_hash=review.content_hash, now=now)
    watchlist.refresh_from_db()
    assert watchlist.state == "submitted"
    services.lift_restriction(desk.privacy2, request, reason="Accuracy checked against the custody record")
    assert watchlists.approve(approver, watchlist, content_hash=review.content_hash, now=now).state == "approved"


def test_a_restriction_of_one_person_does_not_hold_up_a_list_of_others(desk, actors, approvers, gallery, now):
    adult, image = gallery.adult
    other, _ = gallery.other
    watchlist = compile_watchlist(actors.compiler, adult, image, now=now)
    review = watchlists.submit(actors.compiler, watchlist, now=now)
    request = logged(desk.privacy, kind=RequestKind.RESTRICTION, details="I contest the accuracy of my record")
    services.decide(desk.privacy2, verified(desk.privacy, request, other), decision=Decision.GRANT)
    assert (
        watchlists.approve(actors.commander, watchlist, content_hash=review.content_hash, now=now).state == "approved"
    )


def test_no_record_is_linked_after_the_decision(desk, gallery):
    """A link made after the decision would hand the logger, through the access pack, a record nobody decided on."""
    adult, _ = gallery.adult
    request = granted(desk.privacy, desk.privacy2, logged(desk.privacy))
    with pytest.raises(Conflict, match="linking a record is not possible now"):
        services.link_subject(desk.privacy, request, pnc_id=adult.pnc_id)
    request.refresh_from_db()
    assert request.subject_id is None
    assert not Event.objects.filter(action="rights_request.link").exists()


def test_the_privacy_officer_who_logged_a_restriction_cannot_lift_it(desk, gallery):
    adult, _ = gallery.adult
    request = logged(desk.privacy, kind=RequestKind.RESTRICTION, details="I contest the accuracy of my record")
    granted(desk.privacy, desk.privacy2, request, adult)
    with pytest.raises(PermissionDenied, match="another privacy officer"):
        services.lift_restriction(desk.privacy, request, reason="Accuracy checked against the custody record")
    assert watchlist_selectors.restricted_subject_ids() == {adult.pk}
    services.lift_restriction(desk.privacy2, request, reason="Accuracy checked against the custody record")
    assert watchlist_selectors.restricted_subject_ids() == set()
