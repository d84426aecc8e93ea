"""Every URL route of the project, with its parameters filled in, for tests that must cover all of them."""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def routes():
    """Each route's pattern text, prefixed by its includes."""
    for route, _view in route_views():
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


# Every method the permission matrix sends; TRACE and CONNECT never reach Django's views.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def route_views(resolver=None, prefix=""):
    """Each route's pattern text, prefixed by its includes, with the view it calls."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from route_views(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def template(route: str) -> str:
    """A route as people write it: each parameter as {name}, e.g. /api/watchlists/watchlists/{pk}/approve/."""
    route = re.sub(r"\(\?P<([a-z_]+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", route)
    route = route.replace("^", "").replace("$", "").replace("\\.", ".").replace("\\Z", "")
    return "/" + route


def answered_methods(view) -> frozenset[str]:
    """The methods a view answers rather than refusing with 405, read from the view itself.

    A DRF viewset route answers its router's actions and OPTIONS; a class-based view (Django's or DRF's) the methods
    it has handlers for (and HEAD with GET, as Django's View serves it); a function view the list its
    `require_http_methods` decorator (require_safe, require_POST) lets through, and every method when it has none.
    """
    actions = getattr(view, "actions", None)
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if actions or view_class is not None:
        if actions:
            methods = {method.upper() for method in actions} | {"OPTIONS"}
        else:
            names = (getattr(view, "view_initkwargs", None) or {}).get(
                "http_method_names", view_class.http_method_names
            )
            methods = {method.upper() for method in names if hasattr(view_class, method)}
        if "GET" in methods:
            methods.add("HEAD")
        return frozenset(methods) & frozenset(METHODS)
    function = view
    while function is not None:
        free = dict(zip(function.__code__.co_freevars, function.__closure__ or (), strict=True))
        if "request_method_list" in free:
            return frozenset(free["request_method_list"].cell_contents) & frozenset(METHODS)
        function = getattr(function, "__wrapped__", None)
    return frozenset(METHODS)
