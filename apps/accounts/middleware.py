"""Until a person of a role that needs a second factor has entered their code, they reach nothing else."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .services import two_factor

# Open to a signed-in but unverified person: the second step itself, signing out, and what needs no account.
OPEN_PATHS = ("/healthz", "/public/")


class SecondFactorRequiredMiddleware:
    """Send a signed-in user of SECOND_FACTOR_ROLES to enter their code (or enrol an app) before any other page.

    Runs after django-otp's OTPMiddleware (which tells whether the session is verified). A request carrying an
    API token (`Authorization: Token …`) is left to the API's token authentication, which ignores the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated or not user.needs_second_factor or user.is_verified():
            return self.get_response(request)
        # Wherever this session may still go (the open paths), the policy refuses it every action.
        user.second_factor_missing = True
        path = request.path_info
        verify, enrol, logout = reverse("two-factor-verify"), reverse("two-factor-enrol"), reverse("logout")
        if path in (verify, enrol, logout) or path.startswith((*OPEN_PATHS, "/" + settings.STATIC_URL.lstrip("/"))):
            return self.get_response(request)
        if path.startswith("/api/"):
            # Only a token header: the API then ignores the session (a wrong token gets 401, never the session).
            if request.META.get("HTTP_AUTHORIZATION", "").startswith("Token "):
                return self.get_response(request)
            return JsonResponse({"detail": "Enter your two-factor code on the sign-in page first."}, status=403)
        target = verify if two_factor.confirmed_device(user) is not None else enrol
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
