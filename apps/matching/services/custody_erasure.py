"""What matching holds of an erased subject or custody image, deleted in the erasing transaction
(apps.watchlists.services.erasure sends the signals; apps.matching.apps connects these receivers).

- Custody templates and their projections: the rows go now; after commit the graph files stop naming them
  (custody_graph.forget_in_files), the outbox's task takes them out of the files' links (custody_graph.unlink_in_files),
  and every search process's graph drops them, codes and links, at its next search (custody_graph.Graph.sync, which
  each search request runs first). A search already under way re-ranks on the
  templates table, so an erased template is never a candidate even then. Pending enrolments of the images are
  withdrawn from the outbox.
- The watchlist templates made from the images (found through their entries, before the entries go: a template's
  entry is then set to null) and, for a subject, every watchlist template of theirs (of approved versions, which the
  erasure turns into new drafts). Each list's template generation moves, so every worker holding it drops it.
- The erased in candidate lists: every search's and alert's candidates naming the subject (or the images, or their
  entries) lose them, so an operator cannot choose someone who no longer exists; the receipt counts the lists.
- Evidence: an alert on the person, or a retrospective search that chose them, is a record of police action kept under
  its own retention. While one must still name them (an alert under evidential hold or not yet judged, a search still
  open) the erasure is refused, since DPA 2018 s.47(2) says to restrict processing (not erase) where data must be kept
  as evidence; otherwise the rows stay, counted by the figures, and stop naming them (the receipt keeps an HMAC
  commitment of the subject's id, so whoever holds the id can still prove what the rows named).

Each deletion is a receipt in the log: counts and ids, never a vector, and each carries the deletion evidence every
biometric gets (`record_deletion_evidence`: an exact search for their absence, then a VACUUM). Other workers holding a
list's templates drop them at their next frame (the list's template generation moves).
"""

from functools import partial, reduce
from operator import or_

from django.db import transaction
from django.db.models import Q

from apps.audit import services as audit
from apps.outbox import services as outbox
from apps.watchlists.models import Entry
from govern.errors import Conflict

from .. import custody_graph
from ..choices import AlertState, Biometric, SearchState
from ..models import Alert, CustodyTemplate, Probe, WatchlistTemplate
from .deletion_evidence import record_deletion_evidence
from .enrolment import templates_changed

ENROL_TASK = "apps.matching.tasks.embed_custody_image"
# Takes the erased out of the graph files' links: it rewrites the whole graph, so not in the erasing request.
GRAPH_TASK = "apps.matching.tasks.unlink_erased_from_graph"


def erase_custody_templates(sender, image_ids: list[int], subject_id: int, **_kwargs) -> int:
    """Delete the images' custody templates (their projections go with them), withdraw their pending enrolments,
    and log the receipt; the graph files are cleared once this commits."""
    erased = list(CustodyTemplate.objects.filter(image_id__in=image_ids).values_list("pk", flat=True))
    CustodyTemplate.objects.filter(pk__in=erased).delete()
    withdrawn = outbox.withdraw(ENROL_TASK, image_ids)
    if erased:
        record_deletion_evidence(Biometric.CUSTODY_TEMPLATE, erased, target=("watchlists.subject", subject_id))
        # robust: a graph file that cannot be read must not stop the hooks after it (the data key's shredding)
        transaction.on_commit(partial(custody_graph.forget_in_files, erased), robust=True)
        outbox.enqueue(GRAPH_TASK)
    # Read while the images' entries still exist: once they go, a template's entry is set to null and nothing would
    # tie the vector to the erased image until the list's purge.
    listed = _delete_watchlist_templates(
        WatchlistTemplate.objects.filter(entry__image_id__in=image_ids), ("watchlists.subject", subject_id)
    )
    entries = list(Entry.objects.filter(image_id__in=image_ids).values_list("pk", flat=True))
    _refuse_while_held(Alert.objects.filter(entry_id__in=entries), f"image(s) {sorted(image_ids)}")
    struck = _strike_candidates(
        _naming("image", image_ids),
        _naming("entry", entries),
        lambda candidate: candidate.get("image") not in image_ids and candidate.get("entry") not in entries,
    )
    audit.record(
        "custody_template.erase",
        ("watchlists.subject", subject_id),
        None,
        data={
            "images": sorted(image_ids),
            "templates": sorted(erased),
            "enrolments_withdrawn": withdrawn,
            "watchlist_templates": listed[0],
            "watchlists": listed[1],
            "candidate_lists": struck,
        },
    )
    return len(erased)


def _naming(key: str, ids: list[int]) -> Q:
    """Rows whose candidate list names any of these ids under `key` (a JSON containment each, one statement)."""
    return reduce(or_, [Q(candidates__contains=[{key: pk}]) for pk in ids], Q(pk__in=[]))


def _strike_candidates(probes: Q, alerts: Q, kept) -> dict[str, int]:
    """Take the erased out of every search's and alert's candidate list (an operator choosing them would name someone
    who no longer exists); how many lists of each changed."""
    struck = {}
    for name, model, naming in (("probes", Probe, probes), ("alerts", Alert, alerts)):
        rows = list(model.objects.select_for_update().filter(naming).values_list("pk", "candidates"))
        for pk, candidates in rows:
            model.objects.filter(pk=pk).update(candidates=[c for c in candidates if kept(c)])
        struck[name] = len(rows)
    return struck


def _delete_watchlist_templates(templates, target) -> tuple[int, list[int]]:
    """Delete these watchlist templates with their deletion evidence, and move each list's generation so that every
    worker holding it drops it; how many went, and from which lists."""
    doomed = list(templates.values_list("pk", "watchlist_id"))
    lists = sorted({watchlist_id for _, watchlist_id in doomed})
    deleted, _ = WatchlistTemplate.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
    if deleted:
        record_deletion_evidence(Biometric.WATCHLIST_TEMPLATE, [pk for pk, _ in doomed], target=target)
        for watchlist_id in lists:
            templates_changed(watchlist_id)
    return deleted, lists


def erase_subject_templates(sender, subject_id: int, **_kwargs) -> int:
    """Refuse while evidence holds the person; else delete their watchlist templates, take them out of candidate
    lists, detach the alerts and identifications that named them, and log the receipt."""
    # The candidate lists first: their rows' locks make an operator choosing the person now finish before the check.
    named = _naming("subject", [subject_id])
    struck = _strike_candidates(named, named, lambda candidate: candidate.get("subject") != subject_id)
    alerts, chosen = _evidence(subject_id)
    deleted, lists = _delete_watchlist_templates(
        WatchlistTemplate.objects.filter(subject_id=subject_id), ("watchlists.subject", subject_id)
    )
    Alert.objects.filter(pk__in=alerts).update(subject=None)
    Probe.objects.filter(pk__in=chosen).update(chosen_subject=None)
    audit.record(
        "templates.erase",
        ("watchlists.subject", subject_id),
        None,
        data={
            "watchlist_templates": deleted,
            "watchlists": lists,
            "candidate_lists": struck,
            "alerts_detached": alerts,
            "identifications_detached": chosen,
            # who they named, provable later by whoever holds the id, never shown by the log
            "detached_from": audit.commitment(subject_id) if alerts or chosen else "",
        },
    )
    return deleted


def _refuse_while_held(alerts, what: str) -> None:
    """An alert raised on what is erased that is under evidential hold or not yet judged keeps it: its record (the
    candidate it was raised on) must stay whole, so the erasure is refused (DPA 2018 s.47(2))."""
    states = list(alerts.select_for_update().values_list("hold_reason", "state"))
    held = sum(1 for hold, _ in states if hold)
    pending = sum(1 for _, state in states if state == AlertState.PENDING)
    if held or pending:
        reasons = [f"{count} {kind}" for count, kind in ((held, HELD), (pending, PENDING)) if count]
        raise Conflict(
            f"{what} is held as evidence ({', '.join(reasons)}): restrict processing instead (DPA 2018 s.47(2)), and "
            "erase once the hold is lifted or the alert judged."
        )


HELD, PENDING = "alert(s) under evidential hold", "alert(s) not yet adjudicated"


def _evidence(subject_id: int) -> tuple[list[int], list[int]]:
    """The alerts and retrospective identifications naming the person, once none must be kept naming them: an alert
    under evidential hold or not yet judged, or an identification in a search still open, refuses the erasure (DPA
    2018 s.47(2): restrict processing instead). A judged alert or a closed search's identification is detached
    instead (its figures stay: they count alerts, not people)."""
    alerts = list(
        Alert.objects.select_for_update().filter(subject_id=subject_id).values_list("pk", "hold_reason", "state")
    )
    chosen = list(
        Probe.objects.select_for_update(of=("self",))
        .filter(chosen_subject_id=subject_id)
        .values_list("pk", "request__state")
    )
    held = sum(1 for _, hold, _ in alerts if hold)
    pending = sum(1 for _, _, state in alerts if state == AlertState.PENDING)
    open_searches = sum(1 for _, state in chosen if state != SearchState.CLOSED)
    if held or pending or open_searches:
        reasons = [
            f"{count} {what}"
            for count, what in (
                (held, HELD),
                (pending, PENDING),
                (open_searches, "identification(s) in a retrospective search still open"),
            )
            if count
        ]
        raise Conflict(
            f"Subject {subject_id} is held as evidence ({', '.join(reasons)}): restrict their processing instead "
            "(DPA 2018 s.47(2)), and erase them once the hold is lifted, the alert judged or the search closed."
        )
    return sorted(pk for pk, *_ in alerts), sorted(pk for pk, _ in chosen)
