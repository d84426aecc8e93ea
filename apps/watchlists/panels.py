"""Panels that apps above watchlists add to a list's approval page (oversight shows the false alerts forecast there).

Watchlists never imports those apps: each registers a callable `(request, watchlist, review) -> str` (HTML, already
escaped, or "" for nothing) from its AppConfig.ready().
"""

from django.utils.safestring import mark_safe

REVIEW_PANELS: list = []


def register_review_panel(panel):
    """Show `panel(request, watchlist, review)` on the approval page, above the decision."""
    if panel not in REVIEW_PANELS:
        REVIEW_PANELS.append(panel)
    return panel


def render_review_panels(request, watchlist, review) -> list[str]:
    """The HTML of every registered panel for one review, skipping empty ones."""
    rendered = (panel(request, watchlist, review) for panel in REVIEW_PANELS)
    return [mark_safe(html) for html in rendered if html]  # noqa: S308  (panels render templates, which escape)
