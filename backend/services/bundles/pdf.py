"""Render summary.html to summary.pdf next to it: ``python -m backend.services.bundles.pdf FILE``.

Run as a child process so WeasyPrint's memory never counts against the streaming worker.

Nothing of the machine may reach the PDF, or the same bundle built twice gives two SHA-256s:
WeasyPrint names each image in the PDF after the MD5 of its URL, and the summary's directory is
a fresh temporary one per build. So the document is read under a fixed URL (:data:`BASE_URL`)
and a fetcher maps that URL onto the directory, serving nothing outside it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

CANNOT_RUN = 3  # exit status: WeasyPrint or a library it needs (Pango) is missing
ORIGINALS = "originals"  # next to summary.html: originals whose thumbnail is not made yet
BASE_URL = "file:///anjian-summary/"  # where the summary says it is, whatever its directory


def main(argv: list[str]) -> int:
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # chatty at INFO
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    source = Path(argv[0])
    make_thumbnails(source.parent)  # before WeasyPrint loosens Pillow (LOAD_TRUNCATED_IMAGES)
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return CANNOT_RUN

    document = weasyprint.HTML(
        string=source.read_text(encoding="utf-8"),
        base_url=BASE_URL + source.name,
        url_fetcher=fetcher(weasyprint, source.parent),
    )
    document.write_pdf(source.with_suffix(".pdf"), uncompressed_pdf=False)
    return 0


def make_thumbnails(root: Path) -> None:
    """``images/<sha256>.jpg`` for each ``originals/<sha256>``: the same bytes the photo's
    derivatives job stores as its thumbnail (the same function and sizes), so a summary
    rendered before that job ran is the one rendered after."""
    originals = root / ORIGINALS
    if not originals.is_dir():
        return
    from media.images.derivatives import DEFAULT_SIZES, make_derivatives

    for original in sorted(originals.iterdir()):
        try:
            made = make_derivatives(original, sizes=DEFAULT_SIZES)
        except Exception as exc:  # the job could not make it either: no picture
            print(f"{original.name}: no thumbnail: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        (root / "images" / f"{original.name}.jpg").write_bytes(made["thumbnail"].data)


def local_path(root: Path, url: str) -> Path:
    """The file under ``root`` that ``url`` (under BASE_URL) names; ValueError otherwise."""
    if not url.startswith(BASE_URL):
        raise ValueError(f"summary.pdf reads nothing but its own files, not {url}")
    base = root.resolve()
    path = (base / unquote(url.removeprefix(BASE_URL).split("?")[0])).resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"summary.pdf reads nothing outside its directory, not {url}")
    return path


def fetcher(weasyprint: Any, root: Path) -> Any:
    """WeasyPrint's own file fetcher, given the real file for a URL under BASE_URL (the URL
    WeasyPrint hashes stays the fixed one)."""
    base = getattr(weasyprint, "URLFetcher", None)
    if base is None:  # WeasyPrint before the URLFetcher class: a function returning a dict
        return lambda url: weasyprint.default_url_fetcher(local_path(root, url).as_uri())

    class Fetcher(base):  # type: ignore[misc, valid-type]
        def fetch(self, url: str, headers: Any = None) -> Any:
            return super().fetch(local_path(root, url).as_uri(), headers)

    return Fetcher(allowed_protocols=["file"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
