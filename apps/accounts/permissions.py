"""Who may see and manage accounts."""

from django.db.models import Q

from .choices import Role
from .policy import rule

EVERY_ROLE = list(Role)

rule("accounts.view_user", roles=[Role.ADMINISTRATOR], label="View accounts")
rule("accounts.change_user", roles=[Role.ADMINISTRATOR], label="Change accounts")
rule("accounts.add_user", roles=[Role.ADMINISTRATOR], label="Create accounts")
# Everyone may read their own account.
rule("accounts.view_self", roles=EVERY_ROLE, label="View your own account", scope=lambda user: Q(pk=user.pk))
