"""Pages: signing in and its second factor. (The home page, an inbox across the apps, is govern/inbox.py.)"""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .forms import EnrolmentCodeForm, SecondFactorForm, SignInForm
from .services import two_factor


class SignInView(auth_views.LoginView):
    """Username and password, refused while the username or the address is paused after repeated failures."""

    authentication_form = SignInForm
    redirect_authenticated_user = True


def _next_page(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    # A local path only: anything else ("9999-12-31", a bare word) would be taken for a URL name and answer 500.
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url("home")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The sign-in's second step: the code from the person's authenticator app."""
    if not request.user.needs_second_factor or request.user.is_verified():
        return redirect(_next_page(request))
    if two_factor.confirmed_device(request.user) is None:
        return redirect("two-factor-enrol")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.sign_in_second_factor(request, form.cleaned_data["otp_token"]):
            return redirect(_next_page(request))
        form.add_error("otp_token", "That code is not right, or was used already. Wait for the next one and retry.")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next_page(request)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request):
    """First sign-in of a role that needs a second factor: add Govern to an authenticator app, confirm a code."""
    if not request.user.needs_second_factor or request.user.is_verified():
        return redirect(_next_page(request))
    if two_factor.confirmed_device(request.user) is not None:
        return redirect("two-factor-verify")
    if two_factor.accepted_code(request) is None:
        return _enrolment_code_step(request)
    device = two_factor.pending_device(request.user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.confirm_enrolment(request, device, form.cleaned_data["otp_token"]):
            return redirect(_next_page(request))
        form.add_error("otp_token", "That code is not right. Check the app shows Govern's entry and retry.")
    context = {
        "form": form,
        "next": _next_page(request),
        "otpauth_uri": device.config_url,
        "secret": two_factor.secret(device),
        "qr_code": two_factor.qr_code_data_url(device),
    }
    return render(request, "registration/two_factor_enrol.html", context)


def _enrolment_code_step(request):
    """Enrolment's first step: the administrator's one-time code, so a stolen password alone enrols nobody's phone."""
    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refusal = two_factor.accept_enrolment_code(request, form.cleaned_data["enrolment_code"])
        if refusal is None:
            return redirect(f"{reverse('two-factor-enrol')}?{urlencode({'next': _next_page(request)})}")
        form.add_error("enrolment_code", refusal)
    context = {"form": form, "next": _next_page(request)}
    return render(request, "registration/two_factor_enrolment_code.html", context)
