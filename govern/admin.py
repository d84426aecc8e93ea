"""The admin site, open to administrators only (by role, not by Django's superuser flag)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from govern.roles import Role


class GovernAdminSite(admin.AdminSite):
    """Django admin for account management; operational data is changed only through each app's services."""

    site_header = "Govern administration"
    site_title = "Govern administration"

    def has_permission(self, request):
        user = request.user
        return user.is_active and user.is_authenticated and user.has_role(Role.ADMINISTRATOR)


class GovernAdminConfig(AdminConfig):
    """Use GovernAdminSite as admin.site."""

    default_site = "govern.admin.GovernAdminSite"
