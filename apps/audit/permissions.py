"""Who may read the audit log."""

from django.db.models import Q

from govern.policy import rule
from govern.roles import Role

EVERY_ROLE = list(Role)


def _events_visible(user) -> Q:
    """Privacy officers and oversight read every event; administrators only account events."""
    if user.has_role(Role.PRIVACY_OFFICER, Role.OVERSIGHT):
        return Q()
    return Q(action__startswith="account.")


rule(
    "audit.view_event",
    roles=[Role.PRIVACY_OFFICER, Role.OVERSIGHT, Role.ADMINISTRATOR],
    label="Read the audit log",
    scope=_events_visible,
)
# Checkpoints, consistency proofs and the public key hold no personal data: every role may check the log.
rule("audit.view_checkpoint", roles=EVERY_ROLE, label="Read signed checkpoints")
rule("audit.view_cosignature", roles=EVERY_ROLE, label="Read witnesses' cosignatures of checkpoints")
rule("audit.prove_consistency", roles=EVERY_ROLE, label="Ask for consistency proofs")
