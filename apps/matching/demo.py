"""Demo: the commander approves the engine in use, so demo deployments can go live.

Runs before the deployments' demo (ORDER). With no real weights the engine is uncalibrated; it is approved only
where FACE_ALLOW_UNCALIBRATED is set (the demo and the tests), and every page then says so in a banner.
"""

from django.conf import settings

from apps.accounts.models import User

from .services import engine_approval

ORDER = 50


def seed(stdout) -> None:
    """Approve the engine in use, if it may be used at all."""
    name, _weights, calibrated = engine_approval.engine_identity()
    if not calibrated and not settings.FACE_ALLOW_UNCALIBRATED:
        stdout.write(f"Face engine {name} is uncalibrated and not allowed: demo deployments will not go live.")
        return
    engine_approval.approve_engine(
        User.objects.get(username="commander"),
        reason="SYNTHETIC DEMO: approved for demonstration only; it recognises nobody.",
        countersigned_by=User.objects.get(username="privacy"),
    )
    stdout.write(f"Face engine {name} ({'calibrated' if calibrated else 'UNCALIBRATED'}) approved for the demo.")
