"""A map of a place drawn on the server as SVG, without tiles (nothing is fetched from another site, so it passes the
strict Content-Security-Policy and works on a closed police network): the postcode sectors' and districts' centres
around the place as dots, the districts named, the place marked, with a scale bar and north up. It is a check that
the place is where the officer means, not a street map: the districts around it say whether it is the right town
and the right side of it.

This module works out the geometry only; govern/templates/maps/place.html draws it, and says the same in words
beside it (the nearest districts, each with its distance and direction).

Part of the kernel: it imports no app.
"""

import math

from govern import places

SIZE = 320  # pixels: the map's side
MARGIN = 16  # pixels: room inside the frame, so a dot at the edge is whole
KM_PER_DEGREE = 111.32  # along a meridian, and along the equator
# How much the map shows: enough for a handful of districts around the place, within these bounds (km).
DISTRICTS_SHOWN, SMALLEST_KM, LARGEST_KM = 5, 1.0, 40.0
SCALES_KM = (0.25, 0.5, 1, 2, 5, 10, 20)
DIRECTIONS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def direction(origin: places.Point, to: places.Point) -> str:
    """Which way `to` lies from `origin`, in eight compass points."""
    east = (to.longitude - origin.longitude) * math.cos(math.radians(origin.latitude))
    north = to.latitude - origin.latitude
    bearing = math.degrees(math.atan2(east, north)) % 360
    return DIRECTIONS[round(bearing / 45) % 8]


def place_map(centre: places.Point, *, postcode_point: places.Point | None = None) -> dict:
    """The map around a place: its half-width (km), the sectors' dots, the districts' named dots, the place, the
    postcode's own point when the place was typed elsewhere, the scale bar, and the districts in words."""
    near = places.nearest(centre, count=DISTRICTS_SHOWN)
    half_km = min(max(near[-1].km * 1.3, SMALLEST_KM), LARGEST_KM)
    if postcode_point is not None:
        half_km = min(max(half_km, places.distance_km(centre, postcode_point) * 1.3), LARGEST_KM)
    scale = (SIZE / 2 - MARGIN) / half_km  # pixels per km

    def xy(point: places.Point) -> dict:
        east = (point.longitude - centre.longitude) * KM_PER_DEGREE * math.cos(math.radians(centre.latitude))
        north = (point.latitude - centre.latitude) * KM_PER_DEGREE
        return {"x": round(SIZE / 2 + east * scale, 1), "y": round(SIZE / 2 - north * scale, 1)}

    def inside(spot: dict) -> bool:
        return 0 <= spot["x"] <= SIZE and 0 <= spot["y"] <= SIZE

    reach = half_km * math.sqrt(2)  # the map's corners
    sectors = [xy(sector.point) for sector in places.nearest(centre, kind="sectors", count=0, within_km=reach)]
    districts = [
        {**xy(district.point), "code": district.code} for district in places.nearest(centre, count=0, within_km=reach)
    ]
    bar_km = max([km for km in SCALES_KM if km <= half_km * 0.6] or [SCALES_KM[0]])
    shown_postcode = xy(postcode_point) if postcode_point is not None else None
    return {
        "size": SIZE,
        # What a page script needs to turn a point of the map back into a place (static/govern/place-pick.js).
        "centre": {"latitude": centre.latitude, "longitude": centre.longitude},
        "px_per_km": scale,
        "km_per_degree": KM_PER_DEGREE,
        "half_km": round(half_km, 1),
        "sectors": [spot for spot in sectors if inside(spot)],
        "districts": [spot for spot in districts if inside(spot)],
        "frame": SIZE - 1,
        "north_x": SIZE - 32,
        "place": _cross(xy(centre)),
        "postcode": _square(shown_postcode) if shown_postcode and inside(shown_postcode) else None,
        "scale": {
            "x1": MARGIN,
            "x2": round(MARGIN + bar_km * scale, 1),
            "y": SIZE - MARGIN,
            "label": f"{bar_km:g} km",
        },
        "nearest": [
            {"code": district.code, "km": round(district.km, 1), "direction": direction(centre, district.point)}
            for district in near
        ],
    }


CROSS, SQUARE = 14, 10  # pixels: the place's cross arm, the postcode point's square side


def _cross(spot: dict) -> dict:
    return {**spot, "left": spot["x"] - CROSS, "right": spot["x"] + CROSS, "top": spot["y"] - CROSS,
            "bottom": spot["y"] + CROSS}  # fmt: skip


def _square(spot: dict) -> dict:
    return {"x": spot["x"] - SQUARE / 2, "y": spot["y"] - SQUARE / 2, "side": SQUARE}
