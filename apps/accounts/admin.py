"""Account management in the admin site: every save goes into the audit log in the admin's transaction."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from rest_framework.authtoken.models import TokenProxy

from apps.audit import services as audit

from . import policy
from .choices import Role
from .models import User
from .services import INCOMPATIBLE_WITH_ADMINISTRATOR, PROFILE_FIELDS

# Roles are a fixed list and tokens are secrets: neither is edited by hand.
for model in (Group, TokenProxy):
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
