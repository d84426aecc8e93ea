"""Where a UK postcode is, and which postcode district a place is nearest, without a network: a deployment's place is
found from its postcode (or district) rather than latitude and longitude typed by hand, and coordinates typed by hand
are checked against the districts around them.

The data is Ordnance Survey's Code-Point Open (Great Britain; Open Government Licence), fetched pinned and derived by
scripts/vendor_places.py into var/places/ on `make setup` (README, "Places and postcodes"). A full postcode is placed
to its own point (1 m resolution, at a representative address of the postcode); a district alone (SW1A) at the mean
of its postcodes' points, which can be a few kilometres from any one street in it. Northern Ireland's postcodes (BT)
are not in Code-Point Open, and no openly licensed data places them (the ONS Postcode Directory's Northern Ireland rows
are Land & Property Services' data, outside the Open Government Licence): there the place is given by its coordinates
(typed, then refined on the confirmation step's map if need be), checked against Northern Ireland's extent only, and
a BT postcode is refused without them, saying so.

Part of the kernel: it imports no app. The files are read once per process (a postcode area's file when one of its
postcodes is first asked for).
"""

import csv
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from django.core.exceptions import ImproperlyConfigured, ValidationError

from govern import validators

DATA = Path(__file__).resolve().parent.parent / "var" / "places"
# The outward code alone (a postcode district): the shape of BS 7666's outward code, as validators.UK_POSTCODE.
OUTWARD = re.compile(r"^[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])$")
# Postcodes of the Crown Dependencies look British, but the places are not in the United Kingdom.
CROWN_DEPENDENCIES = {"JE": "Jersey", "GY": "Guernsey", "IM": "the Isle of Man"}
NORTHERN_IRELAND = "BT"
# Northern Ireland's extent (degrees): its postcodes are not in the data, so a place there is checked by this box.
NI_LATITUDE, NI_LONGITUDE = (54.0, 55.35), (-8.2, -5.4)
# Why a BT postcode cannot place a deployment, and what to do instead (README, "Places and postcodes").
NI_NOT_FOUND = (
    "{code} is in Northern Ireland, whose postcodes Govern cannot look up: Code-Point Open covers Great Britain only, "
    "and Northern Ireland's postcode data belongs to Land & Property Services, which does not license it openly. "
    "Give the place's latitude and longitude too: they are checked to lie within Northern Ireland's extent (on the "
    "plan's page, the next step's map then lets you move the place)."
)
# Every inhabited part of Great Britain has a postcode sector's centre within this distance; France's coast and
# Ireland, inside the United Kingdom's box, do not.
NEAREST_SECTOR_KM = 20
EARTH_KM = 6371.0
SIX_PLACES = Decimal("0.000001")


class Point(NamedTuple):
    """A place in degrees (WGS84)."""

    latitude: float
    longitude: float


class Near(NamedTuple):
    """A postcode district or sector near a place: its code, its centre and how far it is (km)."""

    code: str
    point: Point
    km: float


class Place(NamedTuple):
    """Where a deployment is: its coordinates (as stored), the postcode given, how the place was found ("postcode":
    the postcode's own point; "district": the district's centre; "typed": coordinates typed by hand), the nearest
    postcode district, and how far the typed place is from the postcode's point (km; None if not both)."""

    latitude: Decimal
    longitude: Decimal
    postcode: str
    found_by: str
    district: Near
    from_postcode_km: float | None


def distance_km(a: Point, b: Point) -> float:
    """The great-circle distance between two places."""
    la1, lo1, la2, lo2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


def normalise(value: str) -> str:
    """A full postcode in its usual form (SW1A 1AA) or a district alone (SW1A); else a ValidationError."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if OUTWARD.match(compact):
        return compact
    try:
        return validators.uk_postcode(compact)
    except ValidationError:
        raise ValidationError(
            f"“{value}” is not a UK postcode or postcode district: give it as on a letter, e.g. SW1A 1AA, or the "
            "district alone, e.g. SW1A."
        ) from None


def _area(code: str) -> str:
    return re.match(r"[A-Z]+", code).group()


def _require_data() -> None:
    if not (DATA / "districts.csv").exists():
        raise ImproperlyConfigured(
            f"No postcode data in {DATA}: run `make setup` (scripts/vendor_places.py fetches Code-Point Open)."
        )


@lru_cache(maxsize=8)
def _area_postcodes(area: str) -> dict[str, Point]:
    """Every postcode of one area (SW, B, EH), compact (SW1A1AA), with its point."""
    _require_data()
    path = DATA / "postcodes" / f"{area}.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as file:
        return {code: Point(float(lat), float(lon)) for code, lat, lon in csv.reader(file)}


@lru_cache(maxsize=2)
def _centres(kind: str) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """The districts' or sectors' codes, their centres (radians, one row each) and their postcodes' counts."""
    _require_data()
    with (DATA / f"{kind}.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    codes = [row[0] for row in rows]
    centres = np.radians(np.array([[float(row[1]), float(row[2])] for row in rows]))
    return codes, centres, {row[0]: int(row[3]) for row in rows}


def point_of(code: str) -> Point | None:
    """Where a postcode (SW1A 1AA) or a district (SW1A) is; None if the data has no such one."""
    if " " in code:
        return _area_postcodes(_area(code)).get(code.replace(" ", ""))
    codes, centres, _ = _centres("districts")
    try:
        latitude, longitude = np.degrees(centres[codes.index(code)])
    except ValueError:
        return None
    return Point(float(latitude), float(longitude))


def district_size(code: str) -> int:
    """How many postcodes a district has (a district's centre is their mean)."""
    return _centres("districts")[2].get(code, 0)


def nearest(point: Point, *, kind: str = "districts", count: int = 1, within_km: float | None = None) -> list[Near]:
    """The `count` district (or sector) centres nearest to a place, nearest first; only those within `within_km` if
    given (then all of them if count is 0)."""
    codes, centres, _ = _centres(kind)
    la, lo = math.radians(point.latitude), math.radians(point.longitude)
    h = (
        np.sin((centres[:, 0] - la) / 2) ** 2
        + np.cos(la) * np.cos(centres[:, 0]) * np.sin((centres[:, 1] - lo) / 2) ** 2
    )
    km = 2 * EARTH_KM * np.arcsin(np.sqrt(h))
    order = np.argsort(km)
    if within_km is not None:
        order = order[km[order] <= within_km]
    if count:
        order = order[:count]
    return [Near(codes[i], Point(*map(float, np.degrees(centres[i]))), float(km[i])) for i in order]


def in_northern_ireland(point: Point) -> bool:
    """Inside Northern Ireland's box (its postcodes are not in the data)."""
    return NI_LATITUDE[0] <= point.latitude <= NI_LATITUDE[1] and NI_LONGITUDE[0] <= point.longitude <= NI_LONGITUDE[1]


def check_in_the_united_kingdom(point: Point) -> None:
    """A place in the United Kingdom: inside its box, and near a postcode sector of Great Britain or in Northern
    Ireland's box; the box alone let through Dublin and the French coast."""
    validators.in_the_united_kingdom(point.latitude, point.longitude)
    if in_northern_ireland(point):
        return
    sector = nearest(point, kind="sectors")[0]
    if sector.km > NEAREST_SECTOR_KM:
        raise ValidationError(
            f"{point.latitude}, {point.longitude} is {sector.km:.0f} km from the nearest postcode in Great Britain "
            f"({sector.code}) and not in Northern Ireland: it is not in the United Kingdom. Check the coordinates, or "
            "give the postcode instead."
        )


def _six(value: float) -> Decimal:
    return Decimal(str(value)).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)


def locate(*, postcode: str = "", latitude=None, longitude=None) -> Place:
    """The place from a postcode or district, or from coordinates typed by hand (checked to be in the United Kingdom),
    with the district nearest to it. Refused with the field at fault: a postcode of the wrong shape, unknown or
    outside the United Kingdom; coordinates outside it; neither given."""
    try:
        code = normalise(postcode) if postcode else ""
    except ValidationError as exc:
        raise ValidationError({"postcode": exc.messages}) from exc
    if code and _area(code) in CROWN_DEPENDENCIES:
        raise ValidationError(
            {
                "postcode": f"{code} is in {CROWN_DEPENDENCIES[_area(code)]}, a Crown Dependency outside the United "
                "Kingdom: Govern records deployments in the United Kingdom only."
            }
        )
    if (latitude is None) != (longitude is None):
        raise ValidationError({"latitude": "Give both the latitude and the longitude, or neither and the postcode."})
    found = point_of(code) if code and _area(code) != NORTHERN_IRELAND else None
    if code and found is None and _area(code) != NORTHERN_IRELAND:
        raise ValidationError(
            {
                "postcode": f"{code} is not a postcode{' district' if ' ' not in code else ''} in Ordnance Survey's "
                "Code-Point Open (every postcode in Great Britain, April 2025): check it; a postcode newer than the "
                "data can be given by its district (e.g. SW1A), or with the latitude and longitude."
            }
        )
    if latitude is not None:
        point = Point(float(latitude), float(longitude))
        try:
            check_in_the_united_kingdom(point)
        except ValidationError as exc:
            raise ValidationError({"latitude": exc.messages}) from exc
        if code and _area(code) == NORTHERN_IRELAND and not in_northern_ireland(point):
            raise ValidationError(
                {
                    "latitude": f"{code} is a Northern Ireland postcode, but {point.latitude}, {point.longitude} is "
                    "not in Northern Ireland: check the coordinates, or the postcode."
                }
            )
        from_postcode = round(distance_km(point, found), 2) if found else None
        return Place(_six(point.latitude), _six(point.longitude), code, "typed", nearest(point)[0], from_postcode)
    if found is None:
        raise ValidationError(
            {
                "postcode": NI_NOT_FOUND.format(code=code)
                if code
                else "Give the postcode (or district), or the latitude and longitude."
            }
        )
    by = "postcode" if " " in code else "district"
    return Place(_six(found.latitude), _six(found.longitude), code, by, nearest(found)[0], None)
