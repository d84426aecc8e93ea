"""Camera credentials: a van's or camera's secret for the capture API, issued (shown once), listed, revoked.

Only the secret's SHA-256 is kept; the secret itself is returned once to the person who issued it and never stored,
logged or shown again. A retired asset gets none, and retiring one revokes those it has.
"""

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import services as audit
from apps.deployments.models import Asset
from govern import policy
from govern.errors import Conflict

from ..models import CameraCredential


def secret_hash(text: str) -> str:
    """The SHA-256 a credential's secret is kept as (and a presented one compared by)."""
    return hashlib.sha256(text.encode()).hexdigest()


# A credential's last use is written at most once this often: a van sends several frames a second, and one UPDATE a
# frame would add a round trip and a row lock to every one of them.
USE_RECORDED_EVERY = datetime.timedelta(minutes=1)
_uses_recorded: dict[str, datetime.datetime] = {}  # when this process last asked, for each key id


def record_use(key_id: str, now: datetime.datetime | None = None) -> bool:
    """Note that a frame came with this credential now; written only when the last record is a minute old, so most
    frames ask the database nothing. Each process asks at most once a minute a credential; the UPDATE's condition
    keeps all processes together to one write a minute. Returns whether it wrote."""
    now = now or timezone.now()
    earlier = _uses_recorded.get(key_id)
    if earlier is not None and now - earlier < USE_RECORDED_EVERY:
        return False
    _uses_recorded[key_id] = now
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - USE_RECORDED_EVERY)
    return CameraCredential.objects.filter(stale, key_id=key_id).update(last_used_at=now) > 0


def _revoke_live(asset: Asset, actor, now, reason: str) -> list[str]:
    """Revoke every credential of the asset still in force, one logged event each; their key ids."""
    live = list(CameraCredential.objects.select_for_update().filter(asset=asset, revoked_at__isnull=True))
    for credential in live:
        credential.revoked_at = now
        credential.save(update_fields=["revoked_at"])
        audit.record("camera.credential_revoked", asset, actor, data={"key_id": credential.key_id}, reason=reason)
    return [credential.key_id for credential in live]


def in_force(asset: Asset) -> str:
    """The key id of the asset's credential in force, or "" when it has none."""
    live = CameraCredential.objects.filter(asset=asset, revoked_at__isnull=True).order_by("-issued_at", "-id")
    return live.values_list("key_id", flat=True).first() or ""


@transaction.atomic
def issue_credential(actor, asset: Asset, *, replacing: str | None = None) -> str:
    """A new secret for a van or camera, returned once as `<key_id>.<secret>`; the asset's earlier ones are revoked.
    `replacing`: the key id the issuer saw in force ("" for none); another one now means the request is stale (a
    page submitted twice, or another commander was quicker), and it is refused rather than replace a secret just
    handed out."""
    policy.require(actor, "matching.add_cameracredential")
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    if not locked.active:
        raise Conflict(f"{locked} is retired: it is issued no credential.")
    if replacing is not None and in_force(locked) != replacing:
        raise Conflict(
            f"A credential of {locked} was issued since this page was shown: look again before replacing it."
        )
    now = timezone.now()
    replaced = _revoke_live(locked, actor, now, "Replaced by a new credential.")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    CameraCredential.objects.create(asset=locked, key_id=key_id, secret_sha256=secret_hash(secret), issued_by=actor)
    audit.record("camera.credential_issued", locked, actor, data={"key_id": key_id, "replaced": replaced})
    return f"{key_id}.{secret}"


@transaction.atomic
def revoke_credential(actor, credential: CameraCredential, *, reason: str) -> CameraCredential:
    """Revoke one credential at once (a lost laptop, a van stolen), with the reason: no frame is admitted with it."""
    locked = CameraCredential.objects.select_for_update().select_related("asset").get(pk=credential.pk)
    policy.require(actor, "matching.revoke_cameracredential", locked)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the credential is revoked."})
    if locked.revoked_at is not None:
        raise Conflict(f"{locked} was already revoked at {timezone.localtime(locked.revoked_at):%Y-%m-%d %H:%M}.")
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit.record(
        "camera.credential_revoked", locked.asset, actor, data={"key_id": locked.key_id}, reason=reason.strip()
    )
    return locked


def revoke_on_retirement(sender, *, asset: Asset, actor, **kwargs) -> None:
    """A retired asset's credentials are revoked in the retirement's transaction (the deployments app's signal)."""
    _revoke_live(asset, actor, timezone.now(), f"{asset} was retired.")


def credentials_of(actor, asset: Asset):
    """An asset's credentials, newest first, with who issued them: never a secret (only its hash is kept)."""
    policy.require(actor, "matching.view_cameracredential")
    return CameraCredential.objects.restrict(actor, "view").filter(asset=asset).select_related("issued_by")
