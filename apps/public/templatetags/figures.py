"""How the public pages print a figure."""

from django import template

register = template.Library()


@register.filter(is_safe=True)
def thousands(value):
    """A whole number with thousands separators ("15,432"); anything else as it is. Humanize's `intcomma` prints the
    same through the locale's number formatting, at about 20 µs a number: the thousand completed deployments' figures
    took 100 ms of the page's time with it."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
