"""Render summary.html to summary.pdf next to it: ``python -m backend.services.bundles.pdf FILE``.

Run as a child process so WeasyPrint's memory never counts against the streaming worker.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

CANNOT_RUN = 3  # exit status: WeasyPrint or a library it needs (Pango) is missing


def main(argv: list[str]) -> int:
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # chatty at INFO
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return CANNOT_RUN

    source = Path(argv[0])
    document = weasyprint.HTML(filename=str(source), base_url=str(source.parent))
    document.write_pdf(source.with_suffix(".pdf"), uncompressed_pdf=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
