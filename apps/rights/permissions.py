"""Who works the requests desk: privacy officers read, check, decide and answer requests; any officer may log one
handed in at a front counter (and sees nothing on the desk). The privacy officer who decides is never the person who
logged the request (four eyes). Everyone else is refused with the reason, on the pages and the API alike."""

from govern.policy import rule
from govern.roles import Role

OFFICER, PRIVACY = Role.OFFICER, Role.PRIVACY_OFFICER


def _not_the_logger(user, request) -> str | None:
    if request.logged_by_id == user.pk:
        return "You logged this request, so another privacy officer decides it."
    return None


rule("rights.view_rightsrequest", roles=[PRIVACY], label="See data-subject requests")
rule("rights.add_rightsrequest", roles=[PRIVACY, OFFICER], label="Log data-subject requests")
rule("rights.change_rightsrequest", roles=[PRIVACY], label="Work data-subject requests")
rule("rights.decide_rightsrequest", roles=[PRIVACY], label="Decide data-subject requests", check=_not_the_logger)
