"""Template context: the signed-in user's roles."""

from govern.roles import Role


def roles(request):
    """`user_roles` (a set of Role) and `Role` for role-aware templates."""
    user = getattr(request, "user", None)
    held = user.roles if user is not None and user.is_authenticated else frozenset()
    return {"user_roles": held, "Role": Role}
