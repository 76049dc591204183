"""Read the forms as the seed texts print them, for comparing templates with the seeds.

Seed 000's 附件1 is a table exported as text: a row starts after a blank line, each cell on its
own line after a tab, a cell's printed line breaks as lines without a tab (a blank line inside a
cell when the next line has no tab). 福州 and 海城 print their forms as tab-separated lines.
"""

from __future__ import annotations

import re
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def squeeze(cell: str) -> str:
    """A printed cell without its line breaks and spaces (layout, not text)."""
    return re.sub(r"\s+", "", cell)


def cell_rows(text: str) -> list[list[str]]:
    rows: list[list[str]] = []
    current: list[str] | None = None
    blank = False
    for line in text.split("\n"):
        if line == "":
            blank = True
            continue
        if line.startswith("\t"):
            if blank or current is None:
                if current is not None:
                    rows.append(current)
                current = []
            current.append(line[1:])
        elif current:
            current[-1] += ("\n\n" if blank else "\n") + line
        blank = False
    if current is not None:
        rows.append(current)
    return rows


def licheng_table() -> list[list[str]]:
    text = seed_text("000_f621e6b55e58377e.txt")
    start = text.index("（数据统计区间")
    end = text.index("附件2\n\n重大事故隐患调度表填表说明")
    body = text[start:end].split("\n", 1)[1]
    return [[squeeze(c) for c in row] for row in cell_rows(body)]


def form_items(name: str, start: str, end: str) -> list[tuple[str, int, str]]:
    """(block, number, label) of a 福州/海城 form; a block title opens its first line."""
    text = seed_text(name)
    body = text[text.index(start) : text.index(end)]
    items: list[tuple[str, int, str]] = []
    block = ""
    for line in body.split("\n"):
        cells = line.split("\t")
        if len(cells) < 3:
            continue
        if cells[0].strip():
            block = squeeze(cells[0])
        rest = [c for c in cells[1:]]
        i = 0
        while i < len(rest):
            if rest[i].strip().isdigit():
                items.append((block, int(rest[i]), squeeze(rest[i + 1])))
                i += 2
            else:
                i += 1
    return items
