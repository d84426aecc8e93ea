"""Who works Sarah's Law cases: officers of the public protection unit; their supervisors approve extensions.

Privacy officers audit every case but never change one. Anyone else, officers of other units included, is refused
with the reason, on the pages and the API alike. A unit is not a role, so the unit test is each rule's actor
condition: it holds with or without a case.
"""

from govern.policy import rule
from govern.roles import Rank, Role

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


def _case_worker(user) -> str | None:
    return None if is_case_worker(user) else _outside_unit()


def _case_viewer(user) -> str | None:
    return None if user.has_role(PRIVACY) or is_case_worker(user) else _outside_unit()


def _statistics_reader(user) -> str | None:
    """Figures without names: the unit, privacy officers and oversight; not other officers."""
    if user.has_role(OFFICER) and not user.has_role(PRIVACY, Role.OVERSIGHT) and not is_case_worker(user):
        return _outside_unit()
    return None


def _supervisor(user) -> str | None:
    if is_supervisor(user):
        return None
    return (
        f"Only a supervisor ({Rank(SUPERVISOR_MIN_RANK).label} or above in the {public_protection_unit()}) "
        "decides an extension."
    )


def _may_decide_extension(user, extension) -> str | None:
    if extension.requested_by_id == user.pk:
        return "You asked for this extension, so another supervisor decides it."
    if extension.case.officer_in_charge_id == user.pk:
        return "You are the officer in charge of this case, so another supervisor decides its extension."
    return None


rule("disclosures.view_disclosurecase", roles=[OFFICER, PRIVACY], label="View Sarah's Law cases", actor=_case_viewer)
# The case's parts are seen by whoever sees cases (they are read with their case, through its consultation log).
for part in ("child", "check", "forumdecision", "disclosure", "extension", "letter"):
    rule(f"disclosures.view_{part}", roles=[OFFICER, PRIVACY], label="View Sarah's Law cases", actor=_case_viewer)
rule("disclosures.add_disclosurecase", roles=[OFFICER], label="Open Sarah's Law cases", actor=_case_worker)
rule("disclosures.change_disclosurecase", roles=[OFFICER], label="Work Sarah's Law cases", actor=_case_worker)
rule(
    "disclosures.decide_extension",
    roles=[OFFICER],
    label="Approve extensions of Sarah's Law cases",
    check=_may_decide_extension,
    actor=_supervisor,
)
rule(
    "disclosures.view_statistics",
    roles=[OFFICER, PRIVACY, Role.OVERSIGHT],
    label="See Sarah's Law statistics",
    actor=_statistics_reader,
)
