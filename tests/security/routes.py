"""Every URL route of the project, with its parameters filled in, for tests that must cover all of them."""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def routes(resolver=None, prefix=""):
    """Each route's pattern text, prefixed by its includes."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route


def concrete(route: str) -> str:
    """A path that the route matches, each parameter replaced by 1."""
    route = re.sub(r"\(\?P<format>[^)]*\)/?", "json", route)
    route = re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "1", route)
    route = re.sub(r"<[a-z_:]+>", "1", route)
    route = route.replace("^", "").replace("$", "").replace("\\.", ".").replace("\\Z", "")
    return "/" + route


def page_routes():
    """Routes of web pages: everything but the API, the admin site (Django's own) and static files."""
    return sorted(
        {concrete(r) for r in routes() if not r.startswith(("api/", "admin/", "^static", "static/")) and "(?" not in r}
    )
