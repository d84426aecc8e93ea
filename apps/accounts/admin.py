"""Account management in the admin site: every save goes into the audit log in the admin's transaction."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit import services as audit

from . import lockout, policy, services, two_factor
from .choices import Role
from .models import ApiToken, SignInLockout, User
from .services import INCOMPATIBLE_WITH_ADMINISTRATOR, PROFILE_FIELDS

# Roles are a fixed list, and authenticator secrets are nobody's to read: neither is edited by hand.
for model in (Group, TOTPDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts: rank, warrant number, force, unit and roles; never deleted, only deactivated."""

    list_display = ["username", "first_name", "last_name", "rank", "force", "unit", "is_active"]
    list_filter = ["is_active", "rank", "force", "groups"]
    search_fields = ["username", "first_name", "last_name", "warrant_number"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Police", {"fields": ["rank", "warrant_number", "force", "unit"]}),
        ("Access", {"fields": ["is_active", "groups"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "password1", "password2"]}),
        ("Police", {"fields": ["rank", "warrant_number", "force", "unit"]}),
    ]
    filter_horizontal = ["groups"]
    actions = ["reset_second_factor", "issue_enrolment_code"]

    @admin.action(description="Remove their authenticator app (they enrol a new one with an enrolment code)")
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            two_factor.reset(request.user, user, reason="admin site")
        self.message_user(request, "Authenticator apps removed.", messages.SUCCESS)
        self.issue_enrolment_code(request, queryset)

    @admin.action(description="Issue an enrolment code (shown once: give it to the person in person or by phone)")
    def issue_enrolment_code(self, request, queryset):
        for user in queryset:
            if not user.needs_second_factor:
                self.message_user(request, f"{user.username} signs in without a second factor.", messages.INFO)
                continue
            code = two_factor.issue_enrolment_code(request.user, user, reason="admin site")
            self.message_user(
                request,
                f"Enrolment code for {user.username}: {code} (valid {two_factor.ENROLMENT_CODE_HOURS} hours, once; "
                "it is not shown again).",
                messages.WARNING,
            )

    def has_module_permission(self, request):
        return policy.may(request.user, "accounts.view_user")

    def has_view_permission(self, request, obj=None):
        return policy.may(request.user, "accounts.view_user")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.pk == request.user.pk:
            return False  # nobody changes their own roles or rank; another administrator does
        return policy.may(request.user, "accounts.change_user")

    def has_add_permission(self, request):
        return policy.may(request.user, "accounts.add_user")

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["queryset"] = Group.objects.filter(name__in=Role.values)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            stored = User.objects.get(pk=obj.pk)
            before = {field: getattr(stored, field) for field in (*PROFILE_FIELDS, "is_active")}
        super().save_model(request, obj, form, change)
        if not change:
            data = {"username": obj.username, **{field: getattr(obj, field) for field in PROFILE_FIELDS}}
            audit.record("account.create", obj, request.user, data=data, reason="admin site")
            return
        changed = {field: [old, getattr(obj, field)] for field, old in before.items() if getattr(obj, field) != old}
        if changed:
            audit.record("account.update", obj, request.user, data={"changed": changed}, reason="admin site")

    def save_related(self, request, form, formsets, change):
        user = form.instance
        before = sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        held = {Role(name) for name in after}
        if Role.ADMINISTRATOR in held and held & INCOMPATIBLE_WITH_ADMINISTRATOR:
            raise PermissionDenied("An administrator may not also hold an approving, compiling or privacy role.")
        is_admin = Role.ADMINISTRATOR.value in after
        if user.is_staff != is_admin:
            User.objects.filter(pk=user.pk).update(is_staff=is_admin)
        if before != after:
            audit.record(
                "account.roles_changed",
                user,
                request.user,
                data={"before": before, "after": after},
                reason="admin site",
            )

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                audit.record("account.password_set", User.objects.get(pk=id), request.user, reason="admin site")
        return response


class _ReadOnlyForAdministrators(admin.ModelAdmin):
    """Listed for administrators; changed only through the actions, which call the services."""

    def has_module_permission(self, request):
        return policy.may(request.user, "accounts.change_user")

    def has_view_permission(self, request, obj=None):
        return policy.may(request.user, "accounts.change_user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(_ReadOnlyForAdministrators):
    """Every API token by its first characters (the key itself is never stored); revoke any of them."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at", "revoked_by"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    fields = list_display
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.revoke_token(request.user, token, reason="admin site")
            revoked += 1
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)


@admin.register(SignInLockout)
class SignInLockoutAdmin(_ReadOnlyForAdministrators):
    """Pauses on signing in after repeated failures; lift one early."""

    list_display = ["key", "value", "failures", "locked_at", "locked_until", "lifted_at"]
    list_filter = ["key"]
    search_fields = ["value"]
    fields = list_display
    actions = ["lift"]

    @admin.action(description="Lift the selected pauses")
    def lift(self, request, queryset):
        for pause in queryset.filter(lifted_at__isnull=True):
            lockout.lift(request.user, pause, reason="admin site")
        self.message_user(request, "Pauses lifted.", messages.SUCCESS)
