"""Who works Sarah's Law cases: officers of the public protection unit; their supervisors approve extensions.

Privacy officers audit every case but never change one. Anyone else, officers of other units included, is refused
with the reason, on the pages and the API alike. A unit is not a role, so the unit test lives in the checks and
scopes here, and `refusal` below adds it to the policy's answer when there is no object to check yet.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from apps.accounts import policy
from apps.accounts.choices import Rank, Role
from apps.accounts.policy import NOTHING, RoleRefused, rule

from .choices import public_protection_unit

OFFICER, PRIVACY = Role.OFFICER, Role.PRIVACY_OFFICER
SUPERVISOR_MIN_RANK = Rank.SERGEANT


def is_case_worker(user) -> bool:
    """An officer of the public protection unit."""
    unit = (getattr(user, "unit", "") or "").strip().casefold()
    return user.has_role(OFFICER) and unit == public_protection_unit().strip().casefold()


def is_supervisor(user) -> bool:
    """A case worker of sergeant's rank or above."""
    return is_case_worker(user) and user.outranks_or_equals(SUPERVISOR_MIN_RANK)


def _outside_unit() -> str:
    return f"Only officers of the {public_protection_unit()} and their supervisors work Sarah's Law cases."


def _worker_check(user, _obj=None) -> str | None:
    return None if is_case_worker(user) else _outside_unit()


def _viewer_check(user, _obj=None) -> str | None:
    return None if user.has_role(PRIVACY) or is_case_worker(user) else _outside_unit()


def _statistics_check(user) -> str | None:
    """Figures without names: the unit, privacy officers and oversight; not other officers."""
    if user.has_role(OFFICER) and not user.has_role(PRIVACY, Role.OVERSIGHT) and not is_case_worker(user):
        return _outside_unit()
    return None


def _viewer_scope(user) -> Q:
    return Q() if user.has_role(PRIVACY) or is_case_worker(user) else NOTHING


def _worker_scope(user) -> Q:
    return Q() if is_case_worker(user) else NOTHING


def _not_supervisor() -> str:
    return (
        f"Only a supervisor ({Rank(SUPERVISOR_MIN_RANK).label} or above in the {public_protection_unit()}) "
        "decides an extension."
    )


def _may_decide_extension(user, extension) -> str | None:
    if not is_supervisor(user):
        return _not_supervisor()
    if extension.requested_by_id == user.pk:
        return "You asked for this extension, so another supervisor decides it."
    if extension.case.officer_in_charge_id == user.pk:
        return "You are the officer in charge of this case, so another supervisor decides its extension."
    return None


rule(
    "disclosures.view_disclosurecase",
    roles=[OFFICER, PRIVACY],
    label="View Sarah's Law cases",
    check=_viewer_check,
    scope=_viewer_scope,
)
# The case's parts are seen by whoever sees cases (they are read with their case, through its consultation log).
for part in ("child", "check", "forumdecision", "disclosure", "extension", "letter"):
    rule(
        f"disclosures.view_{part}",
        roles=[OFFICER, PRIVACY],
        label="View Sarah's Law cases",
        check=_viewer_check,
        scope=_viewer_scope,
    )
rule("disclosures.add_disclosurecase", roles=[OFFICER], label="Open Sarah's Law cases", check=_worker_check)
rule(
    "disclosures.change_disclosurecase",
    roles=[OFFICER],
    label="Work Sarah's Law cases",
    check=_worker_check,
    scope=_worker_scope,
)
rule(
    "disclosures.decide_extension",
    roles=[OFFICER],
    label="Approve extensions of Sarah's Law cases",
    check=_may_decide_extension,
)
rule(
    "disclosures.view_statistics",
    roles=[OFFICER, PRIVACY, Role.OVERSIGHT],
    label="See Sarah's Law statistics",
    check=lambda user, _obj=None: _statistics_check(user),
)

# Actions whose answer without an object must still say no to officers outside the unit.
_UNIT_CHECKS = {
    "disclosures.view_disclosurecase": _viewer_check,
    "disclosures.add_disclosurecase": _worker_check,
    "disclosures.change_disclosurecase": _worker_check,
    "disclosures.view_statistics": lambda user, _obj=None: _statistics_check(user),
    "disclosures.decide_extension": lambda user, _obj=None: None if is_supervisor(user) else _not_supervisor(),
}


def refusal(user, action: str, obj=None) -> str | None:
    """The policy's answer, with the unit test applied even when there is no object."""
    reason = policy.refusal(user, action, obj)
    if reason is None and obj is None and action in _UNIT_CHECKS:
        reason = _UNIT_CHECKS[action](user)
    return reason


def may(user, action: str, obj=None) -> bool:
    """Whether `user` may perform `action` (on `obj`)."""
    return refusal(user, action, obj) is None


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may perform `action`.

    A refusal that holds for every case (no role, or not of the unit) is a RoleRefused: a 403 on the pages too.
    """
    standing = refusal(user, action)
    if standing is not None:
        raise RoleRefused(standing)
    reason = refusal(user, action, obj)
    if reason is not None:
        raise PermissionDenied(reason)
