"""summary.html and summary.pdf: one Jinja2 template, printed like the paper forms.

The HTML goes into the ZIP next to the photos and shows them by their names there. The PDF is
rendered by WeasyPrint from the same template in a child process of its own (it needs Pango, a
CJK font and about 100 MB more memory than the streaming job), with the photos' thumbnails from
a temporary directory. With no CJK font, or no WeasyPrint, the bundle is built without the PDF
and says why: a PDF without the font would print every character as an empty box.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from media import ObjectNotFound, ObjectStore, content_key, sha256_of

from . import pdf as pdf_main

log = logging.getLogger(__name__)
FONT = "Noto Sans CJK SC"  # by fontconfig family: face 0 of the .ttc is the JP face
PDF_TIMEOUT = 600


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("backend.services.bundles", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=ChainableUndefined,  # optional fields (caption, exif) may be absent
        keep_trailing_newline=True,
    )


def render_html(
    summary: Mapping[str, Any], title: str, image: Callable[[Mapping[str, Any]], str]
) -> str:
    """The summary as HTML; ``image(photo)`` says where each photo's picture is."""
    template = _environment().get_template("summary.html.j2")
    return template.render(**summary, title=title, font=FONT, image=image)


def in_zip(photo: Mapping[str, Any]) -> str:
    """summary.html sits at the top of the ZIP: a photo's path there is its link."""
    return str(photo["path"])


@dataclass(frozen=True)
class Pdf:
    """summary.pdf, stored under ``key`` until the ZIP is written; or why there is none."""

    key: str | None
    sha256: str = ""
    size: int = 0
    skipped: str | None = None
    seconds: float = 0.0


def pdf_unavailable(font: str = FONT) -> str | None:
    """Why a PDF cannot be made here, or None."""
    match = shutil.which("fc-match")
    if match is None:
        return "fontconfig (fc-match) is not installed"
    found = subprocess.run(  # noqa: S603 (a fixed program, the font name from code)
        [match, "--format=%{family}", font], capture_output=True, text=True, check=False
    ).stdout
    if font not in found.split(","):
        return f"the CJK font {font!r} is not installed (Debian: fonts-noto-cjk)"
    # Never imported here: WeasyPrint switches on Pillow's LOAD_TRUNCATED_IMAGES when imported,
    # which the photo checks of this process refuse to run with. The child process imports it.
    if importlib.util.find_spec("weasyprint") is None:
        return "WeasyPrint is not installed"
    return None


def render_pdf(
    store: ObjectStore, summary: Mapping[str, Any], title: str, *, font: str = FONT
) -> Pdf:
    """summary.pdf with the photos' thumbnails, rendered in a child process."""
    reason = pdf_unavailable(font)
    if reason is not None:
        log.warning("bundle %s: summary.pdf skipped: %s", title, reason)
        return Pdf(None, skipped=reason)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="anjian-summary-") as work:
        root = Path(work)

        def image(photo: Mapping[str, Any]) -> str:
            return _thumbnail(store, root, str(photo["sha256"]), str(photo["path"]))

        html = render_html(summary, title, image)
        (root / "summary.html").write_text(html, encoding="utf-8")
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # 1980-01-01, like the ZIP
        result = subprocess.run(  # noqa: S603 (this interpreter, a fixed module)
            [sys.executable, "-m", "backend.services.bundles.pdf", str(root / "summary.html")],
            capture_output=True,
            env=env,
            timeout=PDF_TIMEOUT,
            check=False,
        )
        if result.returncode == pdf_main.CANNOT_RUN:  # no Pango, say
            reason = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            log.warning("bundle %s: summary.pdf skipped: %s", title, reason[0])
            return Pdf(None, skipped=f"WeasyPrint cannot run: {reason[0]}")
        if result.returncode != 0:
            reason = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise RuntimeError(f"summary.pdf failed to render: {reason[0]}")
        path = root / "summary.pdf"
        with open(path, "rb") as stream:
            sha256, size = sha256_of(stream)
        key = f"bundles/summaries/{uuid.uuid4()}.pdf"  # this build's own: it deletes it
        with open(path, "rb") as stream:
            store.put(key, stream, content_type="application/pdf")
        return Pdf(key, sha256, size, seconds=time.perf_counter() - started)


def _thumbnail(store: ObjectStore, root: Path, sha256: str, name: str) -> str:
    """A local copy of the photo's thumbnail. One not made yet (its job is still pending) is
    made by the renderer from a copy of the original (``originals/``), as that job makes it:
    the PDF must not depend on when the job ran (docs/bundles.md, Reproducible)."""
    target = root / "images" / f"{sha256}.jpg"
    original = root / pdf_main.ORIGINALS / sha256
    if not target.exists() and not original.exists():
        target.parent.mkdir(exist_ok=True)
        try:
            _copy(store, content_key(sha256, "thumbnail"), target)
        except ObjectNotFound:
            original.parent.mkdir(exist_ok=True)
            try:
                _copy(store, content_key(sha256), original)
            except ObjectNotFound:
                original.unlink(missing_ok=True)  # neither: the picture stays empty
    return target.relative_to(root).as_posix()


def _copy(store: ObjectStore, key: str, target: Path) -> None:
    with store.open(key) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
