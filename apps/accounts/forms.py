"""Forms of the accounts pages: signing in (with the sign-in pause)."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .services import lockout

INVALID_LOGIN = lockout.INVALID_LOGIN_TEXT


class SignInForm(AuthenticationForm):
    """Username and password; while the username or the address is paused, the same pause message for anyone."""

    error_messages = {**AuthenticationForm.error_messages, "invalid_login": INVALID_LOGIN, "inactive": INVALID_LOGIN}

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            until = lockout.locked_until(self.cleaned_data.get("username"), lockout.address_of(self.request))
            if until is not None:
                raise forms.ValidationError(lockout.message(until), code="locked") from None
            raise


class SecondFactorForm(forms.Form):
    """The six-digit code an authenticator app shows now."""

    otp_token = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class EnrolmentCodeForm(forms.Form):
    """The one-time code an administrator gave the person, before any authenticator secret is shown."""

    enrolment_code = forms.CharField(
        label="Enrolment code from your administrator",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}),
    )
