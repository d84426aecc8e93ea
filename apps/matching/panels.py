"""Panels that apps above matching add to an alert on the officers' page (disclosures shows its cases there).

Matching never imports those apps: each registers a callable `(request, alert) -> str` (HTML, already escaped, or
"" for nothing) from its AppConfig.ready().
"""

from django.utils.safestring import mark_safe

ALERT_PANELS: list = []


def register_alert_panel(panel):
    """Show `panel(request, alert)` under each alert."""
    if panel not in ALERT_PANELS:
        ALERT_PANELS.append(panel)
    return panel


def render_alert_panels(request, alert) -> list[str]:
    """The HTML of every registered panel for one alert, skipping empty ones."""
    rendered = (panel(request, alert) for panel in ALERT_PANELS)
    return [mark_safe(html) for html in rendered if html]  # noqa: S308  (panels render templates, which escape)
