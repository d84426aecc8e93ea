"""Who may compile, see and approve watchlists: separation of duties lives here, not in the pages."""

from django.db.models import Q

from govern.policy import minimum_rank, rule
from govern.roles import Role

from .choices import WatchlistState

COMPILER, APPROVER, PRIVACY = Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, Role.PRIVACY_OFFICER


def _contributed(user, watchlist) -> bool:
    """Whether the user compiled the list, edited or submitted any version of it, or added anyone on it now."""
    return (
        watchlist.compiled_by_id == user.pk
        or watchlist.editors.filter(user=user).exists()
        or watchlist.entries.filter(added_by=user).exists()
    )


def _may_approve(user, watchlist) -> str | None:
    if _contributed(user, watchlist):
        return "You compiled, edited or submitted this watchlist, so you may not approve it."
    return None


def _may_return(user, watchlist) -> str | None:
    if _contributed(user, watchlist):
        return "You compiled, edited or submitted this watchlist, so you may not decide on it."
    return None


def _may_ratify(user, watchlist) -> str | None:
    if watchlist.approved_by_id == user.pk:
        return "The officer who approved urgently may not ratify their own approval."
    return _may_approve(user, watchlist)


def _watchlists_visible(prefix: str = ""):
    """Compilers see every list but others' drafts; approvers see submitted and later; privacy officers all."""

    def scope(user) -> Q:
        if user.has_role(PRIVACY):
            return Q()
        not_draft = ~Q(**{f"{prefix}state": WatchlistState.DRAFT})
        if user.has_role(COMPILER):
            return not_draft | Q(**{f"{prefix}compiled_by": user})
        return not_draft

    return scope


rule("watchlists.view_subject", roles=[COMPILER, APPROVER], label="View subjects")
rule("watchlists.add_subject", roles=[COMPILER], label="Create subjects")
rule("watchlists.change_subject", roles=[COMPILER], label="Change subjects")
rule("watchlists.view_custodyimage", roles=[COMPILER, APPROVER], label="View custody images")
rule("watchlists.add_custodyimage", roles=[COMPILER], label="Upload custody images")
# Officers plan deployments, so they see which lists exist (never who is on them: that is view_entry).
rule(
    "watchlists.view_watchlist",
    roles=[COMPILER, APPROVER, PRIVACY, Role.OFFICER],
    label="View watchlists",
    scope=_watchlists_visible(),
)
rule("watchlists.add_watchlist", roles=[COMPILER], label="Compile watchlists")
rule("watchlists.change_watchlist", roles=[COMPILER], label="Edit watchlists")
rule(
    "watchlists.view_entry",
    roles=[COMPILER, APPROVER, PRIVACY],
    label="View watchlist entries",
    scope=_watchlists_visible("watchlist__"),
)
rule(
    "watchlists.view_review",
    roles=[COMPILER, APPROVER, PRIVACY],
    label="View approval decisions",
    scope=_watchlists_visible("watchlist__"),
)
rule("watchlists.view_manifest", roles=[APPROVER, PRIVACY], label="View purge manifests")
rule(
    "watchlists.approve_watchlist",
    roles=[APPROVER],
    label="Approve watchlists",
    check=_may_approve,
    actor=minimum_rank("AUTHORISING_MIN_RANK", "may do this"),
)
rule(
    "watchlists.approve_watchlist_urgently",
    roles=[APPROVER],
    label="Approve watchlists urgently",
    check=_may_approve,
    actor=minimum_rank("URGENT_AUTHORISING_MIN_RANK", "may do this"),
)
rule("watchlists.return_watchlist", roles=[APPROVER], label="Return watchlists for changes", check=_may_return)
rule(
    "watchlists.ratify_watchlist",
    roles=[APPROVER],
    label="Ratify urgent approvals",
    check=_may_ratify,
    actor=minimum_rank("AUTHORISING_MIN_RANK", "may do this"),
)
# A restriction of processing (DPA 2018 s.47) is a privacy officer's decision on a data-subject request; whoever sees
# the gallery or who is on a list sees that a subject is restricted, since it keeps them off the list.
rule("watchlists.view_subjectrestriction", roles=[COMPILER, APPROVER, PRIVACY], label="See restrictions of processing")
rule("watchlists.restrict_subject", roles=[PRIVACY], label="Restrict or lift the processing of a subject")
# Erasure (DPA 2018 s.47) is a privacy officer's act, with a reason, usually carrying out a granted erasure request.
rule("watchlists.erase_subject", roles=[PRIVACY], label="Erase a subject and every copy of their data")
rule("watchlists.erase_custodyimage", roles=[PRIVACY], label="Erase a custody image and its copies")
