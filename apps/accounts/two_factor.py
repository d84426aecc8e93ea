"""The second factor: a TOTP code from an authenticator app (django-otp), after the password, for the roles in
SECOND_FACTOR_ROLES. Enrolment, verification and an administrator's reset, each in the audit log."""

import base64
import io
from base64 import b32encode

import django_otp
import qrcode
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit import services as audit

from . import policy
from .models import User

DEVICE_NAME = "authenticator app"


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


@transaction.atomic
def confirm_enrolment(request, device: TOTPDevice, code) -> bool:
    """Confirm the pending authenticator with its first code; the session is then verified."""
    user = request.user
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(_clean(code)):
        audit.record("account.second_factor_failed", user, user, data={"step": "enrolment"})
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    django_otp.login(request, device)
    audit.record("account.second_factor_enrolled", user, user, data={"device": device.persistent_id})
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
def reset(actor, user: User, reason: str) -> int:
    """An administrator removes a person's authenticator (lost phone); they enrol again at their next sign-in."""
    policy.require(actor, "accounts.change_user", user)
    if actor.pk == user.pk:
        raise PermissionDenied("Nobody removes their own second factor: ask another administrator.")
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    audit.record("account.second_factor_reset", user, actor, data={"devices": removed}, reason=reason)
    return removed


@transaction.atomic
def enrol_for_demo(user: User) -> TOTPDevice:
    """A confirmed authenticator for a demo account (seed_demo writes its URI next to the password)."""
    device = confirmed_device(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
        audit.record("account.second_factor_enrolled", user, None, data={"device": device.persistent_id},
                     reason="demo data")  # fmt: skip
    return device
