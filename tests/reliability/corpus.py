"""A corpus of hostile uploads, made in code: every file here must be refused by every upload surface."""

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw


@dataclass(frozen=True)
class Hostile:
    """One hostile upload: its bytes, the file name and content type it claims, and what makes it hostile."""

    name: str
    content: bytes
    filename: str
    content_type: str
    why: str


def _photo(size=(320, 400), image_format="JPEG", mode="RGB", **params) -> bytes:
    image = Image.new("RGB", size, (200, 190, 180))
    draw = ImageDraw.Draw(image)
    draw.ellipse([size[0] * 0.25, size[1] * 0.2, size[0] * 0.75, size[1] * 0.8], fill=(170, 130, 110))
    out = io.BytesIO()
    image.convert(mode).save(out, image_format, **params)
    return out.getvalue()


def _png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", zlib.crc32(chunk_type + payload))


def _png(width: int, height: int, idat: bytes, depth: int = 8, colour_type: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_bomb_declared() -> bytes:
    """A 100 000 x 100 000 greyscale PNG (10 Gpx) in a few hundred bytes: the header alone must sink it."""
    return _png(100_000, 100_000, zlib.compress(b"\x00" * 100_001 * 4, 9))


def png_bomb_complete() -> bytes:
    """A whole, valid 7 000 x 7 000 PNG (49 Mpx, above the 40 Mpx limit) of zeros: ~50 KB that inflate to 49 MB."""
    side = 7000
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + side)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return _png(side, side, idat)


def jpeg_declaring_enormous_size() -> bytes:
    """A small JPEG whose frame header is rewritten to claim 65 000 x 65 000 pixels."""
    data = bytearray(_photo())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)
    return bytes(data)


def jpeg_with_huge_exif() -> bytes:
    """A JPEG carrying five 64 KiB APP1 EXIF segments, each a single enormous ImageDescription field (320 KiB)."""
    exif = Image.Exif()
    exif[0x010E] = "A" * 65_000  # ImageDescription
    segment = exif.tobytes()  # b"Exif\0\0" and the TIFF structure, just under an APP1 segment's 64 KiB
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    photo = _photo()
    return photo[:2] + app1 * 5 + photo[2:]


def jpeg_with_huge_icc() -> bytes:
    """A JPEG with a 400 KB ICC profile, which Pillow splits over seven APP2 segments."""
    return _photo(icc_profile=b"\x00" * 400_000)


def truncated_jpeg() -> bytes:
    photo = _photo()
    return photo[: len(photo) // 2]


def truncated_png() -> bytes:
    photo = _photo(image_format="PNG")
    return photo[: len(photo) * 2 // 3]


def jpeg_zip_polyglot() -> bytes:
    """A real JPEG with a ZIP archive (holding a script) appended: opens as either."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.sh", "#!/bin/sh\necho owned\n")
    return _photo() + archive.getvalue()


def zip_file() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("photo.jpg", _photo())
    return archive.getvalue()


def animated_png() -> bytes:
    frames = [Image.new("RGB", (200, 200), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def hostile_corpus() -> list[Hostile]:
    """Every hostile file, each claiming to be a JPEG or PNG photograph."""
    jpeg, png = "image/jpeg", "image/png"
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="300" height="300"/></svg>'
    return [
        Hostile("zero-byte", b"", "empty.jpg", jpeg, "a zero-byte file"),
        Hostile("truncated-jpeg", truncated_jpeg(), "cut.jpg", jpeg, "a JPEG cut off halfway"),
        Hostile("truncated-png", truncated_png(), "cut.png", png, "a PNG cut off two thirds of the way"),
        Hostile("png-bomb-declared", png_bomb_declared(), "bomb.png", png, "10 Gpx declared in a tiny PNG"),
        Hostile("png-bomb-complete", png_bomb_complete(), "bomb.png", png, "a whole 49 Mpx PNG of ~50 KB"),
        Hostile("jpeg-enormous-size", jpeg_declaring_enormous_size(), "huge.jpg", jpeg, "65 000 x 65 000 declared"),
        Hostile("jpeg-huge-exif", jpeg_with_huge_exif(), "exif.jpg", jpeg, "320 KiB of EXIF in one huge field"),
        Hostile("jpeg-huge-icc", jpeg_with_huge_icc(), "icc.jpg", jpeg, "a 400 KB ICC profile"),
        Hostile("jpeg-zip-polyglot", jpeg_zip_polyglot(), "poly.jpg", jpeg, "a JPEG that is also a ZIP"),
        Hostile("gif-as-jpg", _photo(image_format="GIF", mode="P"), "photo.jpg", jpeg, "a GIF named .jpg"),
        Hostile("bmp-as-jpg", _photo(image_format="BMP"), "photo.jpg", jpeg, "a BMP named .jpg"),
        Hostile("tiff-as-jpg", _photo(image_format="TIFF"), "photo.jpg", jpeg, "a TIFF named .jpg"),
        Hostile("pdf-as-jpg", pdf, "photo.jpg", jpeg, "a PDF named .jpg"),
        Hostile("zip-as-jpg", zip_file(), "photo.jpg", jpeg, "a ZIP named .jpg"),
        Hostile("html-as-jpeg", html, "photo.jpg", jpeg, "an HTML page sent as image/jpeg"),
        Hostile("svg-as-png", svg, "photo.png", png, "an SVG with a script sent as image/png"),
        Hostile("text-as-jpg", b"not an image at all\n" * 10, "photo.jpg", jpeg, "plain text named .jpg"),
        Hostile("one-pixel", _photo(size=(1, 1)), "dot.jpg", jpeg, "a 1 x 1 JPEG, far below the minimum side"),
        Hostile("tiny-cmyk", _photo(size=(8, 8), mode="CMYK"), "cmyk.jpg", jpeg, "an 8 x 8 CMYK JPEG"),
        Hostile("tiny-16-bit", _photo(size=(8, 8), image_format="PNG", mode="I;16"), "deep.png", png, "8 x 8 16-bit"),
        Hostile("animated-png", animated_png(), "anim.png", png, "an animated PNG (two frames)"),
        Hostile("oversized-file", _photo() + b"\x00" * (11 * 1024 * 1024), "big.jpg", jpeg, "11 MiB, above 10 MiB"),
    ]
