"""Uploaded images, checked strictly before anything else reads them: format by signature, layout, size, pixels.

Part of the kernel: it imports no app. Custody images, CCTV stills and camera frames all pass through here.
"""

import hashlib
import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image, ImageFile

# A few stray bytes after the end marker are common (editors pad with newlines or zeros); more is how polyglot
# files (an image that is also a ZIP, an HTML page or a script) are made.
TRAILING_SLACK_BYTES = 16
# Metadata (EXIF, XMP, ICC profiles, comments, text and private chunks) of a real photograph is a few tens of KiB;
# more is a hiding place for a payload, or a decompression bomb in waiting.
METADATA_MAX_BYTES = 256 * 1024

_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_OTHER_IMAGE_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"8BPS", "Photoshop"),
    (b"qoif", "QOI"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
)
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}

# PNG chunks that carry the picture; every other chunk is counted as metadata. APNG frame chunks are left out so that
# an animation is refused as one (by its frame count) rather than as metadata.
_PNG_PICTURE_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}
_WEBP_PICTURE_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type: grey, RGB, palette, grey+alpha, RGBA
_ADAM7_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_STEP = 1024 * 1024  # inflate in bounded steps: a small IDAT may expand a thousandfold


class ImageRejected(ValueError):
    """An upload that is not an acceptable image; str(exc) is a clear message for the uploader."""


@dataclass(frozen=True)
class ValidatedImage:
    """An upload that passed every check, with its original bytes unchanged (evidence integrity)."""

    content: bytes
    content_type: str
    format: str
    width: int
    height: int
    sha256: str
    pixels: Image.Image | None = field(default=None, repr=False, compare=False)  # with keep_pixels: the decoded image


@dataclass(frozen=True)
class _Layout:
    end: int  # offset just past the image's end marker
    metadata_bytes: int


def validate_image(
    data: bytes,
    *,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
    min_side: int | None = None,
    keep_pixels: bool = False,
) -> ValidatedImage:
    """Accept a JPEG, PNG or WebP still image judged by its content alone, or raise ImageRejected saying why. With
    `keep_pixels`, the image the check decoded comes back too (a frame is then decoded once, not twice)."""
    max_bytes = settings.IMAGE_MAX_BYTES if max_bytes is None else max_bytes
    max_pixels = settings.IMAGE_MAX_PIXELS if max_pixels is None else max_pixels
    min_side = settings.IMAGE_MIN_SIDE if min_side is None else min_side
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow would then fill missing pixel data with black instead of failing: fail closed for every upload.
        raise ImproperlyConfigured("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; custody images cannot be validated.")

    data = bytes(data)
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > max_bytes:
        raise ImageRejected(f"The file is {len(data):,} bytes, more than the limit of {max_bytes:,} bytes.")

    image_format = _sniff(data)
    layout = _LAYOUTS[image_format](data)
    trailing = len(data) - layout.end
    if trailing > TRAILING_SLACK_BYTES:
        raise ImageRejected(f"The file has {trailing:,} bytes of unexpected data after the end of the image.")
    if layout.metadata_bytes > METADATA_MAX_BYTES:
        raise ImageRejected(
            f"The image carries {layout.metadata_bytes:,} bytes of metadata, more than the limit of "
            f"{METADATA_MAX_BYTES:,} bytes."
        )

    decoded = _decode(data, image_format, max_pixels=max_pixels, min_side=min_side)
    return ValidatedImage(
        content=data,
        content_type=_CONTENT_TYPES[image_format],
        format=image_format,
        width=decoded.width,
        height=decoded.height,
        sha256=hashlib.sha256(data).hexdigest(),
        pixels=decoded if keep_pixels else None,
    )


def _sniff(data: bytes) -> str:
    """The accepted format named by the file's first bytes, or ImageRejected for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if other := _other_image_format(data):
        raise ImageRejected(f"The file is a {other} image; only JPEG, PNG and WebP images are accepted.")
    raise ImageRejected("The file is not an image; upload a JPEG, PNG or WebP photograph.")


def _other_image_format(data: bytes) -> str | None:
    for magic, name in _OTHER_IMAGE_SIGNATURES:
        if data.startswith(magic):
            return name
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF/AVIF"
    return None


def _truncated() -> ImageRejected:
    return ImageRejected("The image is truncated or corrupt and cannot be read in full.")


def _jpeg_layout(data: bytes) -> _Layout:
    """Walk the JPEG's segments to its EOI marker, adding up the APPn and comment segments."""
    size, pos, metadata = len(data), 2, 0
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise _truncated()
        while pos < size and data[pos] == 0xFF:  # fill bytes may pad any marker
            pos += 1
        if pos >= size:
            raise _truncated()
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return _Layout(end=pos, metadata_bytes=metadata)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # RSTn and TEM stand alone, without a length
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > size:
            raise _truncated()
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            metadata += length
        pos += length
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next marker other than FF00 stuffing or RSTn
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= size:
                    raise _truncated()
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos += 2
                elif following == 0xFF:
                    pos += 1
                else:
                    break


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """Yield each chunk's type, payload and end offset, from IHDR to IEND."""
    size, pos = len(data), 8
    while True:
        if pos + 8 > size:
            raise _truncated()
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk_type = data[pos + 4 : pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        if end > size or (pos == 8 and chunk_type != b"IHDR"):
            raise _truncated()
        yield chunk_type, data[pos + 8 : end - 4], end
        if chunk_type == b"IEND":
            return
        pos = end


def _png_layout(data: bytes) -> _Layout:
    """Walk the PNG's chunks to IEND, adding up every chunk that is not picture data."""
    chunks = list(_png_chunks(data))
    metadata = sum(len(payload) for chunk_type, payload, _ in chunks if chunk_type not in _PNG_PICTURE_CHUNKS)
    return _Layout(end=chunks[-1][2], metadata_bytes=metadata)


def _png_pixel_data_is_whole(data: bytes) -> bool:
    """Whether IDAT inflates to exactly the rows IHDR declares, with nothing after the end of the zlib stream."""
    width, height, depth, colour_type, _, _, interlaced = struct.unpack(">IIBBBBB", data[16:29])
    bits_per_pixel = depth * _PNG_CHANNELS.get(colour_type, 0)
    expected = 0
    for x0, y0, dx, dy in _ADAM7_PASSES if interlaced else ((0, 0, 1, 1),):
        columns, rows = max(0, -(-(width - x0) // dx)), max(0, -(-(height - y0) // dy))
        if columns:
            expected += rows * (1 + (columns * bits_per_pixel + 7) // 8)  # a filter byte, then the packed pixels
    inflater, produced = zlib.decompressobj(), 0
    for chunk_type, payload, _ in _png_chunks(data):
        if chunk_type != b"IDAT":
            continue
        if inflater.eof and payload:
            return False
        while payload:
            produced += len(inflater.decompress(payload, _INFLATE_STEP))
            if produced > expected:
                return False
            payload = inflater.unconsumed_tail
        if inflater.unused_data:
            return False
    return inflater.eof and produced == expected


def _webp_layout(data: bytes) -> _Layout:
    """Read the RIFF container's declared size and add up its metadata chunks (EXIF, XMP, ICC and unknown)."""
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise _truncated()
    pos, metadata = 12, 0
    while pos < end:
        if pos + 8 > end:
            raise _truncated()
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if data[pos : pos + 4] not in _WEBP_PICTURE_CHUNKS:
            metadata += length
        pos += 8 + length + (length & 1)  # chunks are padded to an even length
    if pos > end:
        raise _truncated()
    return _Layout(end=end, metadata_bytes=metadata)


_LAYOUTS = {"JPEG": _jpeg_layout, "PNG": _png_layout, "WEBP": _webp_layout}


def _decode(data: bytes, image_format: str, *, max_pixels: int, min_side: int) -> Image.Image:
    """Check the declared size from the header, then decode every pixel; return the decoded image."""
    try:
        # Only in this block is Pillow's bomb warning an error; its process-wide MAX_IMAGE_PIXELS is left alone.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[image_format]) as img:
                width, height = img.size  # read from the header: no pixel has been decoded yet
                if width * height > max_pixels:
                    raise ImageRejected(
                        f"The image declares {width:,} x {height:,} pixels, more than the limit of {max_pixels:,}."
                    )
                if min(width, height) < min_side:
                    raise ImageRejected(
                        f"The image is {width} x {height} pixels; each side must be at least {min_side} pixels."
                    )
                if getattr(img, "n_frames", 1) > 1:
                    raise ImageRejected("Animated and multi-frame images are not accepted; upload a single still.")
                if image_format != "PNG":  # Pillow's verify() checks only a PNG's chunks: a JPEG or WebP is
                    img.load()  # checked by decoding it, once
                    return img
                img.verify()
            # A PNG: verify() leaves the image unusable, so decoding needs a fresh one; and Pillow fills the rest of a
            # PNG whose pixel data stops short with black instead of failing.
            with Image.open(io.BytesIO(data), formats=[image_format]) as img:
                img.load()
            if not _png_pixel_data_is_whole(data):
                raise _truncated()
            return img
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"The image declares more pixels than the limit of {max_pixels:,}.") from None
    except Exception as exc:  # Pillow signals damaged input with many exception types
        raise _truncated() from exc
