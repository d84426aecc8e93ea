"""The public reports as files: CSV (every cell safe in a spreadsheet), JSON, the Atom feed of the notices, and a
year's FOI pack, a zip of CSVs answering what forces are asked most (deployments, faces, alerts, false alerts and
arrests, by month and by place type)."""

import datetime
import io
import zipfile
from decimal import Decimal

from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from govern import spreadsheet

from .choices import FIGURE_FIELDS, PERIOD_FIELDS

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
MONTH_FIELDS = ["month", *PERIOD_FIELDS]
PLACE_TYPE_FIELDS = ["place_type", *PERIOD_FIELDS]
DEPLOYMENT_FIELDS = [
    "reference",
    "place",
    "location_type",
    "start",
    "end",
    "watchlist_size",
    "threshold",
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


def months(report: dict) -> list[dict]:
    """An annual report's months, each named YYYY-MM."""
    return [{**row, "month": row["month"].strftime("%Y-%m")} for row in report["months"]]


def annual_record(report: dict) -> dict:
    """An annual report as JSON holds it: the totals, the months, the place types and each deployment."""
    return {
        "year": report["year"],
        "totals": records([report["totals"]], PERIOD_FIELDS)[0],
        "months": records(months(report), MONTH_FIELDS),
        "place_types": records(report["place_types"], PLACE_TYPE_FIELDS),
        "deployments": records(report["deployments"], DEPLOYMENT_FIELDS),
    }


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


def foi_pack(report: dict, *, method_url: str, report_url: str) -> bytes:
    """A year's FOI pack: by month, by place type and each deployment, as CSVs in a zip, with a note on the method."""
    year = report["year"]
    files = {
        "README.txt": (
            f"Live facial recognition in {year}: the figures forces are asked for most.\n\n"
            "by-month.csv       deployments and their figures by the month each deployment started (UK time)\n"
            "by-place-type.csv  the same by why the place was chosen\n"
            "deployments.csv    each completed deployment of the year with its figures\n\n"
            f"Every figure is counted from the records, never typed. How each is derived: {method_url}\n"
            f"The report on the web: {report_url}\n"
            f"Made {timezone.localtime():%Y-%m-%d %H:%M %Z}.\n"
        ),
        "by-month.csv": csv_text(months(report), MONTH_FIELDS),
        "by-place-type.csv": csv_text(report["place_types"], PLACE_TYPE_FIELDS),
        "deployments.csv": csv_text(report["deployments"], DEPLOYMENT_FIELDS),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        for name, text in files.items():
            pack.writestr(f"lfr-{year}/{name}", text)
    return out.getvalue()
