"""The second factor: a TOTP code from an authenticator app (django-otp), after the password, for the roles in
SECOND_FACTOR_ROLES. Enrolment, verification and an administrator's reset, each in the audit log."""

import base64
import datetime
import hashlib
import hmac
import io
import secrets
from base64 import b32encode

import django_otp
import qrcode
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit import services as audit
from govern import policy

from ..models import EnrolmentCode, User
from . import accounts

DEVICE_NAME = "authenticator app"
# An enrolment code lasts three days (long enough to reach someone on shifts) and survives five wrong tries.
ENROLMENT_CODE_HOURS = 72
ENROLMENT_CODE_ATTEMPTS = 5
ENROLMENT_SESSION_KEY = "govern_enrolment_code"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread over the phone


def confirmed_device(user: User) -> TOTPDevice | None:
    """The user's enrolled authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user: User) -> TOTPDevice:
    """The authenticator being enrolled: created unconfirmed on first sight, the same one until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret(device: TOTPDevice) -> str:
    """The shared secret in base32, as authenticator apps take it by hand."""
    return b32encode(device.bin_key).decode()


def qr_code_data_url(device: TOTPDevice) -> str:
    """The otpauth URI as a QR code, a PNG data URL drawn on the server (no script, no third party)."""
    image = qrcode.make(device.config_url, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def current_code(device: TOTPDevice) -> str:
    """The code the device shows now (for the demo and the tests, which have no phone)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def _clean(code) -> str:
    return "".join(str(code or "").split())


def _code_digest(code) -> str:
    return hashlib.sha256("".join(str(code or "").upper().replace("-", "").split()).encode()).hexdigest()


@transaction.atomic
def issue_enrolment_code(actor, user: User, reason: str) -> str:
    """A new one-time code for `user` to enrol an authenticator app, shown once; earlier open codes are void.

    `actor` None is the server's operator at the command line (`manage.py enrolment_code`), who bootstraps the first
    administrator; otherwise only an administrator, and never for themselves.
    """
    if actor is not None:
        policy.require(actor, "accounts.change_user", user)
        if actor.pk == user.pk:
            raise PermissionDenied("Nobody issues their own enrolment code: ask another administrator.")
    if not (reason or "").strip():
        raise PermissionDenied("Say why the code is issued (for example the ticket or the person's request).")
    now = timezone.now()
    EnrolmentCode.objects.filter(user=user, used_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
    code = "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(3))
    expires = now + datetime.timedelta(hours=ENROLMENT_CODE_HOURS)
    EnrolmentCode.objects.create(user=user, digest=_code_digest(code), issued_by=actor, expires_at=expires)
    audit.record("account.enrolment_code_issued", user, actor, data={"expires_at": expires.isoformat()}, reason=reason)
    return code


def _open_code(user: User, *, lock: bool = False) -> EnrolmentCode | None:
    codes = EnrolmentCode.objects.filter(user=user, used_at__isnull=True, voided_at__isnull=True)
    entry = (codes.select_for_update() if lock else codes).first()
    return entry if entry is not None and entry.expires_at > timezone.now() else None


def accepted_code(request) -> EnrolmentCode | None:
    """The enrolment code this session showed, if it is still open; until then no secret is shown."""
    entry = _open_code(request.user)
    return entry if entry is not None and request.session.get(ENROLMENT_SESSION_KEY) == entry.pk else None


@transaction.atomic
def accept_enrolment_code(request, code) -> str | None:
    """Check the code the person typed; None when it opens enrolment for this session, else why not."""
    user = request.user
    entry = _open_code(user, lock=True)
    if entry is None:
        audit.record("account.enrolment_code_refused", user, user, data={"open_code": False})
        return "No enrolment code is open for you: ask an administrator for one (they expire after three days)."
    if not hmac.compare_digest(entry.digest, _code_digest(code)):
        entry.failed_attempts += 1
        if entry.failed_attempts >= ENROLMENT_CODE_ATTEMPTS:
            entry.voided_at = timezone.now()
        entry.save(update_fields=["failed_attempts", "voided_at"])
        audit.record("account.enrolment_code_refused", user, user, data={"attempt": entry.failed_attempts})
        if entry.voided_at is not None:
            return "That code is not right, and too many were tried: it is void. Ask an administrator for a new one."
        return "That enrolment code is not right. Check it with the administrator who gave it to you."
    # A secret made before the code was shown is dropped: only this session ever sees the one it enrols.
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    request.session[ENROLMENT_SESSION_KEY] = entry.pk
    audit.record("account.enrolment_code_accepted", user, user)
    return None


@transaction.atomic
def confirm_enrolment(request, device: TOTPDevice, code) -> bool:
    """Confirm the pending authenticator with its first code, after the enrolment code; the session is verified."""
    user = request.user
    entry = accepted_code(request)
    if entry is None:
        return False
    entry = EnrolmentCode.objects.select_for_update().get(pk=entry.pk)
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if entry.used_at is not None or not device.verify_token(_clean(code)):
        audit.record("account.second_factor_failed", user, user, data={"step": "enrolment"})
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    entry.used_at = timezone.now()
    entry.save(update_fields=["used_at"])
    request.session.pop(ENROLMENT_SESSION_KEY, None)
    django_otp.login(request, device)
    audit.record("account.second_factor_enrolled", user, user, data={"device": device.persistent_id})
    accounts.revoke_tokens(user, user, "authenticator enrolled")
    return True


@transaction.atomic
def verify(user: User, code, via: str = "web") -> TOTPDevice | None:
    """Check a code against the user's authenticator (throttled by django-otp); each answer is logged."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
    accepted = device is not None and bool(_clean(code)) and device.verify_token(_clean(code))
    action = "account.second_factor_verified" if accepted else "account.second_factor_failed"
    audit.record(action, user, user, data={"via": via})
    return device if accepted else None


def sign_in_second_factor(request, code) -> bool:
    """The web sign-in's second step: a right code marks the session verified."""
    device = verify(request.user, code)
    if device is None:
        return False
    django_otp.login(request, device)
    return True


@transaction.atomic
def reset(actor, user: User, reason: str):
    """An administrator asks to remove a person's authenticator (lost phone); it is removed when a second
    administrator approves (accounts.approve_change), and they enrol again at their next sign-in."""
    return accounts.request_authenticator_removal(actor, user, reason)


@transaction.atomic
def enrol_for_demo(user: User) -> TOTPDevice:
    """A confirmed authenticator for a demo account (seed_demo writes its URI next to the password)."""
    device = confirmed_device(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
        audit.record("account.second_factor_enrolled", user, None, data={"device": device.persistent_id},
                     reason="demo data")  # fmt: skip
    return device
