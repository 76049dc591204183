"""Photo checks, EXIF, derivatives and content keys: what the upload API and the derivative job
rely on. Every image is made in code (see images_support)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageCms, ImageFile, ImageOps, ImageStat
from PIL.TiffImagePlugin import IFDRational

import media
from media import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    Derivative,
    ImageInfo,
    InvalidHash,
    MediaError,
    NotAnImage,
    TooLarge,
    TooManyPixels,
    content_key,
    inspect_image,
    make_derivatives,
    sha256_of,
)
from media.images import decoding, draft_box, fit
from media.images.formats import sniff
from tests.media.images_support import (
    RED,
    dms,
    exif,
    heic,
    is_red,
    jpeg,
    jpeg_markers,
    marked,
    photo,
    png,
    png_header_only,
    stored_for,
    with_jpeg_frame_size,
)

LIMITS: dict[str, Any] = {"max_pixels": DEFAULT_MAX_PIXELS, "max_bytes": DEFAULT_MAX_BYTES}
SHA = hashlib.sha256(b"photo").hexdigest()


def inspect(data: Any, **limits: int) -> ImageInfo:
    return inspect_image(data, **{**LIMITS, **limits})


def open_jpeg(derivative: Derivative) -> Image.Image:
    image = Image.open(io.BytesIO(derivative.data))
    assert image.format == "JPEG"
    return image


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return jpeg(photo(1200, 900))


@pytest.fixture(scope="module")
def photo_heic() -> bytes:
    return heic(photo(640, 480))  # x265 takes a second: encode once


# -- content keys and hashes ----------------------------------------------------------------------


def test_an_original_is_keyed_by_its_hash_under_two_levels_of_fan_out() -> None:
    assert content_key(SHA) == f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}"


def test_a_derivative_is_keyed_by_kind_and_hash_as_a_jpg() -> None:
    assert content_key(SHA, "thumbnail") == f"derivatives/thumbnail/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"


@pytest.mark.parametrize(
    "value",
    [SHA.upper(), SHA[:-1], SHA + "0", "g" * 64, "", f"../{SHA[3:]}", f"{SHA[:63]}\n"],
    ids=["uppercase", "short", "long", "not-hex", "empty", "path", "newline"],
)
def test_a_key_needs_64_lowercase_hex_digits(value: str) -> None:
    with pytest.raises(InvalidHash, match="64 lowercase hexadecimal"):
        content_key(value)


@pytest.mark.parametrize("kind", ["", "Thumbnail", "../x", "a/b", "x" * 33, "1st"])
def test_a_kind_must_be_a_plain_name(kind: str) -> None:
    with pytest.raises(ValueError, match="not a media kind"):
        content_key(SHA, kind)


def test_sha256_of_hashes_a_stream_of_several_chunks_and_counts_its_bytes() -> None:
    data = bytes(range(256)) * 10_000  # 2.5 MB: three chunks
    stream = io.BytesIO(data)

    assert sha256_of(stream) == (hashlib.sha256(data).hexdigest(), len(data))
    assert not stream.closed


# -- accepted images ------------------------------------------------------------------------------


def test_a_jpeg_is_accepted_with_its_type_and_size(photo_jpeg: bytes) -> None:
    info = inspect(photo_jpeg)

    assert (info.content_type, info.width, info.height) == ("image/jpeg", 1200, 900)
    assert info.orientation is None
    assert info.taken_at is None
    assert info.gps is None


def test_a_png_is_accepted() -> None:
    info = inspect(png(photo(300, 200)))

    assert (info.content_type, info.width, info.height) == ("image/png", 300, 200)


def test_a_heic_is_accepted(photo_heic: bytes) -> None:
    info = inspect(photo_heic)

    assert (info.content_type, info.width, info.height) == ("image/heic", 640, 480)


def test_a_stream_and_a_path_are_read_like_bytes(photo_jpeg: bytes, tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(photo_jpeg)

    assert inspect(io.BytesIO(photo_jpeg)) == inspect(path) == inspect(photo_jpeg)


# -- refused files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ftyp",
    [
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # iPhone
        b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic",  # generic brand first
        b"\x00\x00\x00\x14ftypheix\x00\x00\x00\x00mif1",  # 10-bit, as Canon writes
    ],
    ids=["heic", "mif1-heic", "heix"],
)
def test_heic_is_recognised_by_any_hevc_still_image_brand(ftyp: bytes) -> None:
    assert sniff(ftyp + bytes(64)) == "image/heic"


def test_a_text_file_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("隐患照片 to follow\n", encoding="utf-8")

    with pytest.raises(NotAnImage) as caught:
        inspect(path)

    assert caught.value.detected == "text"
    assert "JPEG, PNG or HEIC" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (b"", "an empty file"),
        (b"GIF89a" + bytes(100), "a GIF image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100), "a WebP image"),
        (b"%PDF-1.7\n" + bytes(100), "a PDF document"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "an AVIF image"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "a QuickTime video"),
        (bytes(range(256)), "unrecognised binary data"),
    ],
    ids=["empty", "gif", "webp", "pdf", "avif", "mov", "binary"],
)
def test_other_files_are_refused_saying_what_they_look_like(data: bytes, detected: str) -> None:
    with pytest.raises(NotAnImage) as caught:
        inspect(data)

    assert caught.value.detected == detected
    assert detected in str(caught.value)


@pytest.mark.parametrize("keep", [0.5, 0.95, -2], ids=["half", "most", "all-but-the-end-marker"])
def test_a_truncated_jpeg_is_refused(photo_jpeg: bytes, keep: float) -> None:
    cut = photo_jpeg[: int(len(photo_jpeg) * keep)] if keep > 0 else photo_jpeg[: int(keep)]

    with pytest.raises(NotAnImage, match="truncated") as caught:
        inspect(cut)

    assert caught.value.detected == "a JPEG image"
    assert "send the original file again" in str(caught.value)


def test_a_truncated_progressive_jpeg_is_refused() -> None:
    data = jpeg(photo(800, 600), progressive=True)

    with pytest.raises(NotAnImage, match="truncated"):
        inspect(data[: len(data) * 3 // 4])


def test_a_truncated_png_is_refused() -> None:
    data = png(photo(300, 200))

    with pytest.raises(NotAnImage) as caught:
        inspect(data[: len(data) * 2 // 3])

    assert caught.value.detected == "a PNG image"


def test_a_truncated_heic_is_refused(photo_heic: bytes) -> None:
    with pytest.raises(NotAnImage) as caught:
        inspect(photo_heic[: len(photo_heic) - 100])

    assert caught.value.detected == "a HEIC image"


def test_a_jpeg_whose_header_is_cut_short_is_refused(photo_jpeg: bytes) -> None:
    with pytest.raises(NotAnImage, match="no frame header"):
        inspect(photo_jpeg[:100])


def test_a_file_over_the_byte_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff\xd8\xff" + bytes(5000))

    with pytest.raises(TooLarge) as caught:
        inspect(path, max_bytes=4096)

    assert (caught.value.size, caught.value.limit) == (5003, 4096)
    assert "4,096 bytes" in str(caught.value)


def test_a_stream_over_the_byte_limit_is_not_read_to_its_end() -> None:
    stream = io.BytesIO(b"\xff\xd8\xff" + bytes(8 * 1024 * 1024))

    with pytest.raises(TooLarge) as caught:
        inspect(stream, max_bytes=1024)

    assert caught.value.size is None
    assert stream.tell() <= 1024 * 1024 + 1024  # one chunk past the limit at most


def test_pillow_may_not_be_in_load_truncated_images_mode(
    photo_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        inspect(photo_jpeg[:1000])


# -- pixel limits ---------------------------------------------------------------------------------


def test_a_20000_by_20000_png_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow must not be asked to open a decompression bomb")

    monkeypatch.setattr(Image, "open", never)
    started = time.perf_counter()

    with pytest.raises(TooManyPixels) as caught:
        inspect(png_header_only(20_000, 20_000), max_pixels=50_000_000)

    assert time.perf_counter() - started < 0.1
    assert (caught.value.width, caught.value.height, caught.value.limit) == (
        20_000,
        20_000,
        50_000_000,
    )
    assert "20000 x 20000" in str(caught.value)
    assert "50,000,000" in str(caught.value)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_refusing_a_decompression_bomb_takes_no_big_memory() -> None:
    # In a fresh interpreter, whose peak virtual size is then this refusal's alone. It is the
    # virtual size that counts: Pillow's pixel blocks are reserved at once but only become
    # resident as they are written. Decoding 20000 x 20000 RGB would reserve 1.2 GB.
    script = """
from media import TooManyPixels, inspect_image
from tests.media.images_support import png_header_only
try:
    inspect_image(png_header_only(20_000, 20_000), max_pixels=50_000_000, max_bytes=10**6)
except TooManyPixels:
    with open("/proc/self/status") as status:
        print(next(line.split()[1] for line in status if line.startswith("VmPeak:")))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert int(result.stdout) < 400 * 1024  # KiB: the interpreter, Pillow and boto3


def test_a_jpeg_over_the_pixel_limit_is_refused_from_its_frame_header(photo_jpeg: bytes) -> None:
    bomb = with_jpeg_frame_size(photo_jpeg, 30_000, 30_000)

    with pytest.raises(TooManyPixels) as caught:
        inspect(bomb, max_pixels=1_000_000)

    assert (caught.value.width, caught.value.height) == (30_000, 30_000)


def test_a_heic_over_the_pixel_limit_is_refused(photo_heic: bytes) -> None:
    with pytest.raises(TooManyPixels):
        inspect(photo_heic, max_pixels=640 * 480 - 1)


def test_an_image_exactly_at_the_pixel_limit_is_accepted(photo_jpeg: bytes) -> None:
    assert inspect(photo_jpeg, max_pixels=1200 * 900).width == 1200


def test_pillows_own_bomb_limit_applies_when_it_is_lower(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)

    with pytest.raises(TooManyPixels) as caught:
        inspect(png(photo(200, 100)), max_pixels=1_000_000)

    assert caught.value.limit == 10_000


@pytest.mark.parametrize(
    "raised",
    [Image.DecompressionBombError("bomb"), Image.DecompressionBombWarning("bomb")],
    ids=["error", "warning-as-error"],
)
def test_pillows_decompression_bomb_signals_become_too_many_pixels(raised: Exception) -> None:
    with (
        pytest.raises(TooManyPixels),
        decoding.decoding_errors("image/png", size=(9000, 9000), max_pixels=1000),
    ):
        raise raised


# -- metadata -------------------------------------------------------------------------------------


def phone_exif(**overrides: Any) -> Image.Exif:
    """EXIF as a phone writes it at 24°28'N 118°05'E (Xiamen), 12.34 m above sea level."""
    fields: dict[str, Any] = {
        "orientation": 6,
        "taken": "2023:05:06 14:03:22",
        "offset": "+08:00",
        "subsec": "25",
        "latitude": ("N", dms(24, 28, 0)),
        "longitude": ("E", dms(118, 5, 0)),
        "altitude": (0, IFDRational(1234, 100)),
        "gps_time": datetime(2023, 5, 6, 6, 3, 20),
        "make": "Apple",
        "model": "iPhone 13",
    }
    return exif(**{**fields, **overrides})


def test_position_orientation_time_and_device_are_read_from_exif() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif()))

    assert info.orientation == 6
    assert info.gps is not None
    assert info.gps.latitude == pytest.approx(24.4667, abs=1e-4)
    assert info.gps.longitude == pytest.approx(118.0833, abs=1e-4)
    assert info.gps.altitude == pytest.approx(12.34)
    assert info.gps.timestamp == datetime(2023, 5, 6, 6, 3, 20, tzinfo=UTC)
    assert (info.make, info.model) == ("Apple", "iPhone 13")


def test_capture_time_is_the_devices_wall_clock_with_its_offset_when_recorded() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif()))

    assert info.taken_at is not None
    assert info.taken_at.local == datetime(2023, 5, 6, 14, 3, 22, 250_000)
    assert info.taken_at.local.tzinfo is None
    assert info.taken_at.raw == "2023:05:06 14:03:22"
    assert info.taken_at.offset == "+08:00"
    assert info.taken_at.aware == datetime(
        2023, 5, 6, 14, 3, 22, 250_000, tzinfo=timezone(timedelta(hours=8))
    )


def test_capture_time_without_an_offset_stays_naive_and_names_no_instant() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif(offset=None, subsec=None)))

    assert info.taken_at is not None
    assert info.taken_at.local == datetime(2023, 5, 6, 14, 3, 22)
    assert info.taken_at.offset is None
    assert info.taken_at.aware is None


@pytest.mark.parametrize("taken", ["    :  :     :  :  ", "0000:00:00 00:00:00", "yesterday"])
def test_a_blank_or_invalid_capture_time_is_none(taken: str) -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif(taken=taken)))

    assert info.taken_at is None
    assert info.gps is not None  # the rest of the EXIF is still read


def test_an_invalid_offset_is_dropped_but_the_time_is_kept() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif(offset="+8")))

    assert info.taken_at is not None
    assert info.taken_at.offset is None


def test_southern_and_western_positions_are_negative() -> None:
    data = phone_exif(latitude=("S", dms(33, 52, 4.5)), longitude=("W", dms(70, 40, 0)))

    info = inspect(jpeg(photo(400, 300), exif=data))

    assert info.gps is not None
    assert info.gps.latitude == pytest.approx(-(33 + 52 / 60 + 4.5 / 3600))
    assert info.gps.longitude == pytest.approx(-(70 + 40 / 60))


def test_an_altitude_below_sea_level_is_negative() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif(altitude=(1, IFDRational(15)))))

    assert info.gps is not None
    assert info.gps.altitude == -15


def test_a_position_without_its_hemisphere_is_not_guessed() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif(latitude=("", dms(24, 28, 0)))))

    assert info.gps is None


def test_a_position_of_zero_over_zero_rationals_is_ignored() -> None:
    nothing = (IFDRational(0, 0),) * 3

    info = inspect(jpeg(photo(400, 300), exif=phone_exif(latitude=("N", nothing))))

    assert info.gps is None


def test_malformed_exif_loses_the_metadata_not_the_photo() -> None:
    data = jpeg(photo(400, 300), exif=b"Exif\x00\x00MM\x00*\x00\x00\xff\xffjunk")

    # Pillow itself warns while opening such a JPEG (it looks for a DPI in the EXIF); where
    # warnings are errors, as here, that needs expecting.
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        info = inspect(data)

    assert (info.width, info.orientation, info.taken_at, info.gps) == (400, None, None, None)


def test_exif_in_a_png_is_read() -> None:
    info = inspect(png(photo(300, 200), exif=phone_exif()))

    assert info.gps is not None
    assert info.orientation == 6


def test_heic_rotation_is_applied_by_the_decoder_so_it_reads_upright() -> None:
    # pillow-heif turns EXIF orientation 6 into the container's rotation, as an iPhone does.
    data = heic(stored_for(marked(400, 300), 6), exif_data=phone_exif())

    info = inspect(data)

    assert (info.width, info.height, info.orientation) == (400, 300, 1)
    assert info.gps is not None
    assert info.gps.latitude == pytest.approx(24.4667, abs=1e-4)


def test_image_info_turns_into_json() -> None:
    info = inspect(jpeg(photo(400, 300), exif=phone_exif()))

    decoded = json.loads(json.dumps(info.to_dict()))

    assert decoded["content_type"] == "image/jpeg"
    assert (decoded["width"], decoded["height"], decoded["orientation"]) == (400, 300, 6)
    assert decoded["taken_at"] == {
        "local": "2023-05-06T14:03:22.250000",
        "raw": "2023:05:06 14:03:22",
        "offset": "+08:00",
        "aware": "2023-05-06T14:03:22.250000+08:00",
    }
    assert decoded["gps"]["timestamp"] == "2023-05-06T06:03:20+00:00"
    assert info.upright_size == (300, 400)


# -- draft boxes ----------------------------------------------------------------------------------


def test_the_draft_box_of_a_12_megapixel_landscape_jpeg_is_1600_by_1200() -> None:
    assert draft_box(4000, 3000, None, 1600) == (1600, 1200)


@pytest.mark.parametrize(
    ("stored", "orientation", "box"),
    [
        ((4000, 3000), 6, (1600, 1200)),  # portrait photo stored landscape, as phones do
        ((4000, 3000), 8, (1600, 1200)),
        ((4000, 3000), 5, (1600, 1200)),
        ((3000, 4000), 6, (1200, 1600)),  # landscape photo stored portrait
        ((3000, 4000), 1, (1200, 1600)),
        ((4032, 3024), 6, (1600, 1200)),
    ],
)
def test_the_draft_box_keeps_the_stored_orientation(
    stored: tuple[int, int], orientation: int, box: tuple[int, int]
) -> None:
    assert draft_box(*stored, orientation, 1600) == box


def test_the_draft_box_makes_libjpeg_decode_at_half_size() -> None:
    data = jpeg(photo(4000, 3000, noise=0))

    drafted = Image.open(io.BytesIO(data))
    drafted.draft("RGB", draft_box(4000, 3000, 6, 1600))
    square = Image.open(io.BytesIO(data))
    square.draft("RGB", (1600, 1600))

    assert drafted.size == (2000, 1500)
    assert square.size == (4000, 3000)  # why the box must keep the aspect ratio


@given(
    width=st.integers(1, 20_000),
    height=st.integers(1, 20_000),
    orientation=st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7, 8]),
    long_edge=st.integers(1, 4000),
)
def test_the_draft_box_never_asks_for_more_or_less_than_needed(
    width: int, height: int, orientation: int | None, long_edge: int
) -> None:
    box_width, box_height = draft_box(width, height, orientation, long_edge)

    assert max(box_width, box_height) == min(long_edge, max(width, height))
    assert box_width <= width
    assert box_height <= height
    assert (box_width >= box_height) == (width >= height) or box_width == box_height
    assert abs(box_width * height - box_height * width) <= max(width, height)
    # Pillow's JPEG draft: the largest of 8, 4, 2, 1 that keeps both sides at least the box's.
    scale = min(width // box_width, height // box_height)
    factor = next(s for s in (8, 4, 2, 1) if scale >= s)
    assert -(-width // factor) >= box_width
    assert -(-height // factor) >= box_height


def test_fit_never_enlarges() -> None:
    assert fit(200, 100, 1600) == (200, 100)
    assert fit(100, 4000, 320) == (8, 320)


# -- derivatives ----------------------------------------------------------------------------------


def test_derivatives_have_long_edges_of_320_and_1600() -> None:
    made = make_derivatives(jpeg(photo(4000, 3000)))

    assert list(made) == ["thumbnail", "display"]
    assert (made["display"].width, made["display"].height) == (1600, 1200)
    assert (made["thumbnail"].width, made["thumbnail"].height) == (320, 240)
    assert open_jpeg(made["display"]).size == (1600, 1200)
    assert open_jpeg(made["thumbnail"]).size == (320, 240)
    assert {made[kind].content_type for kind in made} == {"image/jpeg"}


def test_a_small_photo_is_never_enlarged() -> None:
    made = make_derivatives(jpeg(photo(200, 150)))

    assert {kind: (d.width, d.height) for kind, d in made.items()} == {
        "thumbnail": (200, 150),
        "display": (200, 150),
    }


def test_the_source_is_decoded_once_at_reduced_size_and_the_thumbnail_comes_from_the_display(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resizes: list[tuple[tuple[int, int], tuple[int, int]]] = []
    resize = Image.Image.resize

    def spy(self: Image.Image, size: tuple[int, int], *args: Any, **kwargs: Any) -> Image.Image:
        resizes.append((self.size, tuple(size)))
        return resize(self, size, *args, **kwargs)

    data = jpeg(photo(4000, 3000, noise=0), exif=exif(orientation=6))
    monkeypatch.setattr(Image.Image, "resize", spy)

    make_derivatives(data)

    assert resizes == [((2000, 1500), (1600, 1200)), ((1200, 1600), (240, 320))]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_derivatives_are_upright_for_every_orientation(orientation: int) -> None:
    upright = marked(600, 400)
    data = jpeg(stored_for(upright, orientation), exif=exif(orientation=orientation))

    made = make_derivatives(data, sizes={"display": 300, "thumbnail": 60})

    for derivative in made.values():
        image = open_jpeg(derivative).convert("RGB")
        width, height = image.size
        assert width > height
        assert is_red(image.getpixel((width // 10, height // 10)))
        for corner in ((width * 9 // 10, height // 10), (width // 10, height * 9 // 10)):
            assert not is_red(image.getpixel(corner))


def test_derivatives_match_pillows_exif_transpose() -> None:
    data = jpeg(stored_for(photo(600, 400), 6), exif=exif(orientation=6))
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).resize((300, 200))

    made = make_derivatives(data, sizes={"display": 300})

    actual = open_jpeg(made["display"]).convert("RGB")
    assert actual.size == expected.size
    assert max(ImageStat.Stat(ImageChops.difference(actual, expected)).mean) < 6


def test_derivatives_carry_no_exif_gps_xmp_or_comment() -> None:
    source = jpeg(
        photo(800, 600),
        exif=phone_exif(),
        comment=b"inspector's note",
        xmp=b"<x:xmpmeta><exif:GPSLatitude>24,28N</exif:GPSLatitude></x:xmpmeta>",
    )

    made = make_derivatives(source)

    for derivative in made.values():
        image = open_jpeg(derivative)
        assert dict(image.getexif()) == {}
        assert not {"exif", "xmp", "comment"} & set(image.info)
        markers = {marker for _, marker in jpeg_markers(derivative.data)}
        assert not markers & {0xE1, 0xED, 0xFE}  # APP1 (EXIF, XMP), APP13 (IPTC), COM
        assert b"GPS" not in derivative.data
        assert b"Apple" not in derivative.data


def test_derivatives_keep_the_colour_profile() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    made = make_derivatives(jpeg(photo(800, 600), icc_profile=profile))

    assert open_jpeg(made["display"]).info["icc_profile"] == profile


def test_heic_derivatives_are_upright_jpegs() -> None:
    data = heic(stored_for(marked(800, 600), 6), exif_data=exif(orientation=6))

    made = make_derivatives(data)

    image = open_jpeg(made["display"]).convert("RGB")
    assert image.size == (800, 600)
    assert is_red(image.getpixel((40, 30)))
    assert not is_red(image.getpixel((760, 30)))
    assert (made["thumbnail"].width, made["thumbnail"].height) == (320, 240)


def test_transparent_png_areas_become_white() -> None:
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    image.paste((*RED, 255), (0, 0, 200, 200))

    made = make_derivatives(png(image))

    display = open_jpeg(made["display"]).convert("RGB")
    assert is_red(display.getpixel((50, 100)))
    assert min(display.getpixel((350, 100))) > 245


def test_a_16_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (64, 64), 32768)

    made = make_derivatives(png(grey))

    value = open_jpeg(made["display"]).convert("L").getpixel((32, 32))
    assert isinstance(value, int)
    assert 120 <= value <= 136


@pytest.mark.parametrize("mode", ["L", "CMYK", "P"])
def test_derivatives_of_other_colour_modes_are_rgb(mode: str) -> None:
    source = photo(400, 300).convert(mode)
    data = png(source) if mode == "P" else jpeg(source)

    made = make_derivatives(data)

    assert open_jpeg(made["display"]).mode == "RGB"


def test_derivatives_refuse_what_inspection_refuses(photo_jpeg: bytes) -> None:
    with pytest.raises(NotAnImage, match="truncated"):
        make_derivatives(photo_jpeg[: len(photo_jpeg) // 2])
    with pytest.raises(TooManyPixels):
        make_derivatives(png_header_only(20_000, 20_000))


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({}, "at least one"),
        ({"original": 100}, "names the original"),
        ({"display": 0}, "must be positive"),
        ({"Big": 100}, "not a media kind"),
    ],
    ids=["none", "original", "zero", "bad-name"],
)
def test_derivative_sizes_are_checked(
    photo_jpeg: bytes, sizes: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_derivatives(photo_jpeg, sizes=sizes)


# -- errors and the package ------------------------------------------------------------------------


def test_every_refusal_is_a_media_error() -> None:
    for error in (NotAnImage, TooManyPixels, TooLarge, InvalidHash):
        assert issubclass(error, MediaError)


def test_heif_support_is_registered_once_however_many_threads_race(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []

    def register(**options: Any) -> None:
        calls.append(options)
        time.sleep(0.05)

    monkeypatch.setattr(decoding, "_heif_registered", False)
    monkeypatch.setattr(pillow_heif, "register_heif_opener", register)
    threads = [threading.Thread(target=decoding.ensure_heif_support) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert calls == [{"thumbnails": False}]


def test_the_media_package_exports_the_image_api() -> None:
    for name in ("inspect_image", "make_derivatives", "content_key", "sha256_of", "ImageInfo"):
        assert name in media.__all__


# -- derivatives from a stream that is still arriving ---------------------------------------------


class Trickle(io.RawIOBase):
    """A forward-only stream that hands out at most ``step`` bytes a read, like a socket."""

    def __init__(self, data: bytes, step: int = 7_000) -> None:
        super().__init__()
        self.data, self.step, self.position = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.step, len(self.data) - self.position)
        buffer[:count] = self.data[self.position : self.position + count]
        self.position += count
        return count


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            lambda: jpeg(stored_for(photo(900, 600), 6), exif=exif(orientation=6)), id="jpeg"
        ),
        # A header longer than the first look (64 kB): the ICC profile spans APP2 segments.
        pytest.param(lambda: jpeg(photo(900, 600), icc_profile=bytes(200_000)), id="large-header"),
        pytest.param(lambda: png(photo(900, 600)), id="png"),
    ],
)
def test_derivatives_from_a_stream_equal_those_from_bytes(source: Any) -> None:
    data = source()
    expected = make_derivatives(data, sizes={"display": 300, "thumbnail": 60})

    made = make_derivatives(Trickle(data), sizes={"display": 300, "thumbnail": 60})

    assert {kind: d.data for kind, d in made.items()} == {
        kind: d.data for kind, d in expected.items()
    }


def test_a_truncated_stream_is_not_an_image() -> None:
    data = jpeg(photo(900, 600))
    with pytest.raises(NotAnImage):
        make_derivatives(Trickle(data[: len(data) * 2 // 3]))


def test_a_stream_over_max_bytes_is_too_large() -> None:
    data = jpeg(photo(900, 600))
    with pytest.raises(TooLarge):
        make_derivatives(Trickle(data), max_bytes=len(data) // 2)


def test_iter_derivatives_yields_the_largest_first_and_checks_arguments_at_once() -> None:
    with pytest.raises(ValueError, match="quality"):
        media.iter_derivatives(b"not even read", quality=0)
    made = media.iter_derivatives(jpeg(photo(900, 600)), sizes={"thumbnail": 60, "display": 300})
    assert [kind for kind, _ in made] == ["display", "thumbnail"]


def test_a_png_under_the_pixel_limit_but_huge_in_memory_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from media.images.decoding import MAX_DECODED_BYTES

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused PNG must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    with pytest.raises(TooManyPixels) as caught:  # 79 MP: under 80 MP, but 317 MB decoded
        inspect(png_header_only(8_900, 8_900), max_pixels=80_000_000)
    assert caught.value.limit == MAX_DECODED_BYTES // 4
