"""The public reports as files: CSV (every cell safe in a spreadsheet), JSON, and the Atom feed of the notices."""

import datetime
from decimal import Decimal

from django.utils.feedgenerator import Atom1Feed

from govern import spreadsheet

from .choices import FIGURE_FIELDS

NOTICE_FIELDS = [
    "reference",
    "place",
    "address",
    "location_type",
    "start",
    "end",
    "status",
    "watchlist_size_band",
    "notice_published_on",
]
REPORT_FIELDS = [
    "reference",
    "place",
    "address",
    "location_type",
    "start",
    "end",
    "went_live_at",
    "completed_at",
    "duration_minutes",
    "watchlist_size",
    "threshold",
    "engines",
    *FIGURE_FIELDS,
]
FEED_AUTHOR = "Govern: the force's record of live facial recognition"


def plain(value):
    """A value as a file holds it: times in ISO 8601 with their offset, a month as YYYY-MM, the threshold as text,
    a list as its items; numbers stay numbers."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def records(rows: list[dict], fields: list[str]) -> list[dict]:
    """Each row's `fields` only, as plain values (for JSON)."""
    return [{field: plain(row[field]) for field in fields} for row in rows]


def _cell(value):
    value = plain(value)
    return "; ".join(value) if isinstance(value, list) else value


def csv_text(rows: list[dict], fields: list[str]) -> str:
    """The rows' `fields` as CSV."""
    return spreadsheet.csv_text(fields, [{field: _cell(row[field]) for field in fields} for row in rows])


def _window(start: datetime.datetime, end: datetime.datetime) -> str:
    """A deployment's window as people read it: "5 Dec 2026 10:00 to 16:00", the end's date only when it differs."""
    last = f"{end:%H:%M}" if end.date() == start.date() else f"{end.day} {end:%b %Y %H:%M}"
    return f"{start.day} {start:%b %Y %H:%M} to {last}"


def notices_feed(notices: list[dict], *, page_url: str, feed_url: str) -> str:
    """The notices as an Atom 1.0 feed: an entry per deployment announced, updated when its notice was published."""
    feed = Atom1Feed(
        title="Live facial recognition: deployments announced",
        link=page_url,
        feed_url=feed_url,
        feed_guid=feed_url,
        description="",
        subtitle="Where and when live facial recognition will be used, announced in advance.",
        author_name=FEED_AUTHOR,
        language="en-gb",
    )
    for notice in notices:
        window, published = _window(notice["start"], notice["end"]), notice["notice_published_on"]
        feed.add_item(
            title=f"{notice['place']}: {window}",
            link=f"{page_url}#{notice['reference']}",
            unique_id=f"{page_url}#{notice['reference']}",
            description=(
                f"{notice['reference']}: live facial recognition at {notice['place']}, {notice['address']}, "
                f"{window} (UK time). Why here: {notice['location_type']}. Watchlist size: "
                f"{notice['watchlist_size_band']}. {notice['status_label']}. Notice published "
                f"{published.day} {published:%b %Y}."
            ),
            pubdate=notice["notice_published_at"],
            updateddate=notice["notice_published_at"],
        )
    return feed.writeString("utf-8")
