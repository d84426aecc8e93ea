"""DRF permission that asks the permission policy."""

from rest_framework.permissions import BasePermission

from govern import policy


class PolicyPermission(BasePermission):
    """Allow when the policy lets the user perform the view's `policy_action`."""

    message = "You do not hold a role that may do this."

    def has_permission(self, request, view):
        return policy.may(request.user, view.policy_action)
