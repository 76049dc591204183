"""`anjian reports check [--template T] FILE`: one line per inconsistency; exit 0 when there is
none, 1 when there are some, 2 when the file cannot be read (with the reason, no traceback)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.cli import main
from reports.check import reading
from tests.reports.check_support import SEED_000, consistent_figures, form_grid, to_tsv, to_xlsx


def run(*args: str) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(main, ["reports", "check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout.splitlines(), result.stderr


def test_the_seed_prints_one_line_per_inconsistency_and_exits_1() -> None:
    code, lines, summary = run(str(SEED_000))
    assert code == 1
    assert [line.split(":", 1)[0] for line in lines] == ["line 153", "line 790"]
    assert lines[0].startswith(
        "line 153: 累计 部门精准严格执法情况/帮扶指导重点县区（镇街）: 366 ≠ 386"
    )
    assert "2 inconsistencies" in summary


def test_a_consistent_workbook_prints_nothing_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "附件1.xlsx"
    path.write_bytes(to_xlsx(consistent_figures()))
    code, lines, summary = run("--template", "licheng", str(path))
    assert (code, lines) == (0, [])
    assert "no inconsistencies" in summary


def test_a_gb18030_export_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "附件1.txt"
    path.write_bytes(to_tsv(form_grid(consistent_figures())).encode("gb18030"))
    assert run(str(path))[0] == 0


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (reading.MAX_UNPACKED_BYTES + 1))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("这只是一封信。\n".encode(), "no tab-separated table"),
        (b"\x00\x01\x02\x03binary", "neither an .xlsx workbook nor text"),
        (b"PK\x03\x04broken", "not a readable .xlsx workbook"),
        ("单位\t检查企业\n合计\t1\n".encode(), "荔城区专项行动进展情况调度表"),
        (b"\t0\n" * (reading.MAX_FILE_BYTES // 3 + 1), "a 调度表 is far smaller"),
    ],
    ids=["letter", "binary", "broken-zip", "other-form", "huge"],
)
def test_a_file_it_cannot_read_exits_2_with_the_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    code, lines, message = run(str(path))
    assert (code, lines) == (2, [])
    assert reason in message


def test_a_zip_bomb_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_bomb())
    code, _lines, message = run(str(path))
    assert code == 2
    assert "unpacks to" in message


def test_a_missing_file_a_directory_and_an_unknown_template_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "nothing.xlsx"))[0] == 2
    code, _lines, message = run(str(tmp_path))
    assert code == 2
    assert "Cannot read" in message or "directory" in message
    code, _lines, message = run("--template", "nosuch", str(SEED_000))
    assert code == 2
    assert "No template 'nosuch'; these can be checked: licheng" in message
