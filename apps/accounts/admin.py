"""Account management in the admin site: every save goes into the audit log in the admin's transaction."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit import access
from apps.audit import services as audit
from govern import policy
from govern.roles import Role

from . import selectors
from .choices import AccountChangeKind, AccountChangeState
from .models import AccountChange, ApiToken, SignInLockout, User
from .services import accounts, lockout, two_factor
from .services.accounts import PROFILE_FIELDS

ACCOUNT_LIST = ("accounts.user", "list")  # what a consultation of the list of accounts is logged against


def _account(request, object_id, *args, **kwargs):
    """The account an admin page is about, for its reason form (None for an id that names none: the admin says so)."""
    return User.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None


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

    @admin.action(description="Ask to remove their authenticator app (a second administrator approves)")
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            two_factor.reset(request.user, user, reason="admin site")
        self.message_user(
            request,
            "Removal asked for: it takes effect when a second administrator approves it (Account changes); then issue "
            "an enrolment code.",
            messages.WARNING,
        )

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

    def changelist_view(self, request, extra_context=None):
        """The list of accounts shows staff's personal data: asked for a reason first, and each list shown is logged
        as one consultation with the ids on it, as the API's list is (an action's POST reads no list)."""

        @access.reason_required(lambda request: ACCOUNT_LIST)
        def consulted(request, target, reason):
            response = super(UserAdmin, self).changelist_view(request, extra_context)
            listed = (getattr(response, "context_data", None) or {}).get("cl")
            if listed is not None:  # an action done (a redirect) or a bad filter shows no account
                ids = [user.pk for user in listed.result_list]
                selectors.users(request.user, reason, take=lambda found: found.filter(pk__in=ids), surface="admin")
            return response

        return (
            consulted(request) if request.method in ("GET", "HEAD") else super().changelist_view(request, extra_context)
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One account's page: asked for a reason first, and logged as one consultation, as the API's read is."""

        @access.reason_required(_account)
        def consulted(request, object_id, target, reason):
            if target is not None and self.has_view_permission(request, target):
                selectors.user(request.user, target, reason)
            return super(UserAdmin, self).change_view(request, object_id, form_url, extra_context)

        if request.method not in ("GET", "HEAD"):  # a save shows the account again only with its errors
            return super().change_view(request, object_id, form_url, extra_context)
        return consulted(request, object_id)

    def history_view(self, request, object_id, extra_context=None):
        """An account's history names it and every change made to it: asked for a reason first, and logged as one
        consultation of the account, as its page is."""

        @access.reason_required(_account)
        def consulted(request, object_id, target, reason):
            if target is not None and self.has_view_permission(request, target):
                selectors.user(request.user, target, reason)
            return super(UserAdmin, self).history_view(request, object_id, extra_context)

        return consulted(request, object_id)

    def get_fieldsets(self, request, obj=None):
        """One's own account is read-only here (another administrator changes it): without the password's reset
        link, which would answer 403."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.pk != request.user.pk:
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

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
        if {"rank", "is_active"} & set(changed):
            accounts.revoke_tokens(request.user, obj, " and ".join(sorted(set(changed) & {"rank", "is_active"})) +
                                   " changed")  # fmt: skip

    def save_related(self, request, form, formsets, change):
        """Roles go through the accounts service: a grant of authorising officer, privacy officer or administrator
        waits for a second administrator (Account changes), as everywhere else."""
        user = form.instance
        groups = form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)
        if groups is None:
            return
        wanted = [group.name for group in groups if group.name in Role.values]
        try:
            accounts.set_roles(request.user, user, wanted, reason="admin site")
        except ValidationError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from exc
        waiting = user.account_changes.filter(state=AccountChangeState.PENDING, kind=AccountChangeKind.GRANT_ROLES)
        if waiting.exists():
            self.message_user(
                request,
                "Authorising officer, privacy officer and administrator take effect only when a second administrator "
                "approves them (Account changes).",
                messages.WARNING,
            )

    def user_change_password(self, request, id, form_url=""):
        """The password form names the account: shown after a reason and logged as a consultation, as the account's
        page is; the new password, once set, is logged as a change."""
        if request.method in ("GET", "HEAD"):
            return self._password_form_consulted(request, id, form_url)
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                audit.record("account.password_set", user, request.user, reason="admin site")
                accounts.revoke_tokens(request.user, user, "password changed")
        return response

    def _password_form_consulted(self, request, id, form_url):
        @access.reason_required(_account)
        def consulted(request, id, target, reason):
            if target is not None and self.has_change_permission(request, target):
                selectors.user(request.user, target, reason)
            return super(UserAdmin, self).user_change_password(request, id, form_url)

        return consulted(request, id)


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
            accounts.revoke_token(request.user, token, reason="admin site")
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


@admin.register(AccountChange)
class AccountChangeAdmin(_ReadOnlyForAdministrators):
    """Grants of authorising officer, privacy officer or administrator, and removals of an authenticator, asked for
    by one administrator: another approves or refuses them here."""

    list_display = ["user", "kind", "roles", "reason", "requested_by", "requested_at", "state", "decided_by"]
    list_filter = ["state", "kind"]
    search_fields = ["user__username", "requested_by__username"]
    fields = list_display
    actions = ["approve", "refuse"]

    @admin.action(description="Approve the selected changes (they take effect now)")
    def approve(self, request, queryset):
        self._decide(request, queryset, lambda change: accounts.approve_change(request.user, change, "admin site"))

    @admin.action(description="Refuse the selected changes")
    def refuse(self, request, queryset):
        self._decide(
            request, queryset, lambda change: accounts.refuse_change(request.user, change, "refused on the admin site")
        )

    def _decide(self, request, queryset, decide):
        """Each pending change through the service; a refusal (one's own request, say) is shown, not a 500."""
        for change in queryset.filter(state=AccountChangeState.PENDING):
            try:
                decided = decide(change)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(
                    request, f"{change}: {' '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
            else:
                self.message_user(request, f"{decided.get_state_display()}: {decided}.", messages.SUCCESS)
