"""How fast make_derivatives is, against a bare Pillow pipeline doing the same work.

Generates COUNT 12 MP (4000 x 3000) camera-like JPEGs with EXIF (cached in a temporary
directory), then times, image by image and in alternating order, ``media.make_derivatives``
and the bare pipeline: open, draft with an aspect-ratio box, convert to RGB, resize to a 1600 px
long edge, encode, resize that to 320, encode. Each pipeline's time is its best of REPEAT passes.
The target is a ratio of at least 0.90.

    .venv/bin/python bench/media_derivatives.py [--count 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter
from PIL.TiffImagePlugin import IFDRational

from media import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_QUALITY,
    DEFAULT_SIZES,
    inspect_image,
    make_derivatives,
)

WIDTH, HEIGHT = 4000, 3000
DISPLAY, THUMBNAIL = DEFAULT_SIZES["display"], DEFAULT_SIZES["thumbnail"]
GENERATOR_VERSION = 1  # bump when the pictures change, so the cache is rebuilt


def camera_photo(seed: int) -> Image.Image:
    """Gradients for sky and walls, blurred shapes for objects, fine grain for sensor noise."""
    rnd = random.Random(seed)
    size, smooth = (WIDTH, HEIGHT), Image.Resampling.BILINEAR
    channels = [
        Image.linear_gradient("L").rotate(rnd.randrange(360)).resize(size, smooth),
        Image.radial_gradient("L").resize(size, smooth),
        Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size, smooth),
    ]
    rnd.shuffle(channels)
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rnd.randrange(WIDTH), rnd.randrange(HEIGHT)
        box = (x, y, x + rnd.randrange(20, WIDTH // 4), y + rnd.randrange(20, HEIGHT // 4))
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    tile = Image.effect_noise((509, 509), 6)
    grain = Image.new("L", size)
    for x in range(0, WIDTH, 509):
        for y in range(0, HEIGHT, 509):
            grain.paste(tile, (x, y))
    return ImageChops.add(image, grain.convert("RGB"), offset=-128)


def camera_exif(seed: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi Note 12"
    exif[ExifTags.Base.Orientation] = 1
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = f"2023:06:{seed % 28 + 1:02d} 10:15:30"
    details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (IFDRational(24), IFDRational(28), IFDRational(seed % 60))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (IFDRational(118), IFDRational(5), IFDRational(seed % 60))
    return exif


def cached_photos(count: int, cache: Path) -> list[bytes]:
    cache.mkdir(parents=True, exist_ok=True)
    photos = []
    for seed in range(count):
        path = cache / f"photo-{seed:03d}.jpg"
        if not path.exists():
            buffer = io.BytesIO()
            camera_photo(seed).save(buffer, "JPEG", quality=90, exif=camera_exif(seed))
            temp = path.with_suffix(".tmp")
            temp.write_bytes(buffer.getvalue())
            temp.replace(path)
            print(f"  generated {path.name}: {len(buffer.getvalue()) / 1e6:.1f} MB", flush=True)
        photos.append(path.read_bytes())
    return photos


def fit(width: int, height: int, long_edge: int) -> tuple[int, int]:
    scale = long_edge / max(width, height)
    return round(width * scale), round(height * scale)


def bare_pillow(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    box = fit(*image.size, DISPLAY)
    image.draft("RGB", box)
    display = image.convert("RGB").resize(box, Image.Resampling.LANCZOS)
    display.save(io.BytesIO(), "JPEG", quality=DEFAULT_QUALITY)
    thumbnail = display.resize(fit(*display.size, THUMBNAIL), Image.Resampling.LANCZOS)
    thumbnail.save(io.BytesIO(), "JPEG", quality=DEFAULT_QUALITY)


def anjian(data: bytes) -> None:
    make_derivatives(data)


def timed(work: Callable[[bytes], None], data: bytes) -> float:
    started = time.perf_counter()
    work(data)
    return time.perf_counter() - started


def race(photos: list[bytes], repeat: int) -> tuple[float, float]:
    """Best total seconds of (make_derivatives, bare Pillow) over ``repeat`` interleaved passes."""
    for data in photos[:2]:  # warm up caches and lazy imports
        anjian(data)
        bare_pillow(data)
    best_ours, best_bare = float("inf"), float("inf")
    for attempt in range(repeat):
        ours = bare = 0.0
        for index, data in enumerate(photos):
            if (index + attempt) % 2:
                ours += timed(anjian, data)
                bare += timed(bare_pillow, data)
            else:
                bare += timed(bare_pillow, data)
                ours += timed(anjian, data)
        print(f"  pass {attempt + 1}: make_derivatives {ours:.2f} s, bare Pillow {bare:.2f} s")
        best_ours, best_bare = min(best_ours, ours), min(best_bare, bare)
    return best_ours, best_bare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="photos (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="passes, best counts (default 3)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / f"anjian-bench-photos-v{GENERATOR_VERSION}",
        help="where the generated photos are kept between runs",
    )
    args = parser.parse_args(argv)

    print(f"{args.count} photos of {WIDTH} x {HEIGHT} in {args.cache}")
    photos = cached_photos(args.count, args.cache)
    mean_mb = sum(map(len, photos)) / len(photos) / 1e6
    print(f"  mean size {mean_mb:.1f} MB; sizes {dict(DEFAULT_SIZES)}, quality {DEFAULT_QUALITY}")

    ours, bare = race(photos, args.repeat)
    ours_rate, bare_rate = len(photos) / ours, len(photos) / bare
    ratio = ours_rate / bare_rate
    print(f"make_derivatives: {ours_rate:.2f} images/s")
    print(f"bare Pillow:      {bare_rate:.2f} images/s")
    print(f"ratio:            {ratio:.3f} (target >= 0.90)")

    started = time.perf_counter()
    for data in photos:
        inspect_image(data, max_pixels=DEFAULT_MAX_PIXELS, max_bytes=DEFAULT_MAX_BYTES)
    print(f"inspect_image:    {len(photos) / (time.perf_counter() - started):.2f} images/s (info)")
    return 0 if ratio >= 0.90 else 1


if __name__ == "__main__":
    sys.exit(main())
