"""Importing an office's enterprise list (CSV or XLSX): every row, or none."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import Config
from backend.db import Database
from backend.domain.credit_code import check_character
from backend.models import AuditEntry, Enterprise, Role, Unit, UnitKind, User
from backend.services import enterprise_import, enterprises, organisation
from backend.services.enterprise_import import Row, RowError, UnreadableFile

HEADINGS = ["name", "credit_code", "sector", "address", "contact_name", "contact_phone"]


def make_code(n: int) -> str:
    """A valid 统一社会信用代码: 91 + 350102 (a 福州 district) + MA + serial + check character."""
    first17 = f"91350102MA{n:07d}"
    return first17 + check_character(first17)


def wrong_check(code: str) -> str:
    """The same code with a check character that does not match."""
    return code[:17] + ("0" if code[17] != "0" else "1")


# Database and organisation ----------------------------------------------------------------------


@dataclass
class World:
    district: Unit  # 示范区, where the admin sits
    town: Unit  # 城关街道, below it
    other_town: Unit  # 东湖镇, below it too
    elsewhere: Unit  # 邻区, another district the admin cannot see
    admin: User


@pytest.fixture
def world(session: Session) -> World:
    district = make_unit(session, "示范区", UnitKind.district, None)
    admin = organisation.create_user(
        session,
        None,
        username="admin",
        display_name="系统管理员",
        password="a-long-password",
        role=Role.admin,
        unit=district,
    )
    return World(
        district=district,
        town=make_unit(session, "城关街道", UnitKind.town, district),
        other_town=make_unit(session, "东湖镇", UnitKind.town, district),
        elsewhere=make_unit(session, "邻区", UnitKind.district, None),
        admin=admin,
    )


def make_unit(session: Session, name: str, kind: UnitKind, parent: Unit | None) -> Unit:
    return organisation.create_unit(session, None, name=name, kind=kind, parent=parent)


def enterprises_of(session: Session, unit: Unit) -> list[Enterprise]:
    query = select(Enterprise).where(Enterprise.unit_id == unit.id).order_by(Enterprise.name)
    return list(session.scalars(query))


def enterprise_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Enterprise)) or 0


# Files ------------------------------------------------------------------------------------------


def write_csv(path: Path, lines: Sequence[Sequence[object]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(lines)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, lines: Sequence[Sequence[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in lines:
        sheet.append(line)
    book.save(path)
    return path


def row(line: int, **values: str | None) -> Row:
    """A row as read_rows returns it, with every heading of HEADINGS present."""
    return Row(line, {**dict.fromkeys(HEADINGS), **values})


def import_file(session: Session, world: World, path: Path) -> enterprise_import.ImportReport:
    rows = enterprise_import.read_rows(path)
    return enterprise_import.import_rows(session, world.admin, rows, world.town)


# Good files -------------------------------------------------------------------------------------


def test_a_good_csv_imports_every_row_with_its_fields(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            HEADINGS,
            ["城关燃气有限公司", make_code(1), "gas", "解放路12号", "陈经理", "13800138000"],
            ["城关污水处理厂", make_code(2), "confined_space", "河口路5号", "", ""],
        ],
    )

    report = import_file(session, world, path)

    assert (report.created, report.errors) == (2, [])
    by_name = {e.name: e for e in enterprises_of(session, world.town)}
    gas, water = by_name["城关燃气有限公司"], by_name["城关污水处理厂"]
    assert (
        gas.name,
        gas.credit_code,
        gas.sector,
        gas.address,
        gas.contact_name,
        gas.contact_phone,
    ) == ("城关燃气有限公司", make_code(1), "gas", "解放路12号", "陈经理", "13800138000")
    assert (water.name, water.sector, water.contact_name, water.contact_phone) == (
        "城关污水处理厂",
        "confined_space",
        None,
        None,
    )


def test_each_imported_enterprise_is_audited_as_created_by_the_importer(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            HEADINGS,
            ["城关燃气有限公司", make_code(1), "gas", "", "", ""],
            ["城关污水处理厂", make_code(2), "confined_space", "", "", ""],
        ],
    )

    import_file(session, world, path)

    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "enterprise.create"))
    audited = {(e.actor_id, e.entity_id, e.data["name"]) for e in entries}
    assert audited == {
        (world.admin.id, str(e.id), e.name) for e in enterprises_of(session, world.town)
    }


def test_a_good_xlsx_with_chinese_headings_and_sector_labels_imports(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "名单.xlsx",
        [
            [
                "企业名称",
                "统一社会信用代码",
                "行业领域",
                "详细地址",
                "联系人",
                "联系电话",
                "所属单位",
            ],
            [
                "东湖镇燃气调压站",
                make_code(1),
                "城镇燃气",
                "工业园1号",
                "刘站长",
                13800138000,
                "东湖镇",
            ],
            ["东湖酿造有限公司", make_code(2), "有限空间作业", "工业园18号", None, None, "东湖镇"],
        ],
    )

    report = import_file(session, world, path)

    assert (report.created, report.errors) == (2, [])
    by_name = {e.name: e for e in enterprises_of(session, world.other_town)}
    station, brewery = by_name["东湖镇燃气调压站"], by_name["东湖酿造有限公司"]
    assert (station.sector, station.address, station.contact_phone) == (
        "gas",
        "工业园1号",
        "13800138000",
    )
    assert (brewery.sector, brewery.contact_phone) == ("confined_space", None)


@pytest.mark.parametrize(
    ("written", "sector"),
    [
        ("gas", "gas"),
        ("GAS", "gas"),
        ("城镇燃气", "gas"),
        ("燃气", "gas"),
        ("有限空间", "confined_space"),
        ("危化品", "hazardous_chemicals"),
        ("危险化学品", "hazardous_chemicals"),
        ("工贸", "industry_trade"),
        ("冶金等工贸制造业", "industry_trade"),
    ],
)
def test_sector_may_be_a_code_a_label_or_a_common_short_form(
    session: Session, world: World, written: str, sector: str
) -> None:
    report = enterprise_import.import_rows(
        session, world.admin, [row(2, name="某企业", sector=written)], world.town
    )

    assert report.errors == []
    assert [e.sector for e in enterprises_of(session, world.town)] == [sector]


def test_a_unit_may_be_named_by_its_id(session: Session, world: World) -> None:
    rows = [Row(2, {"name": "某企业", "sector": "gas", "unit": str(world.other_town.id)})]

    report = enterprise_import.import_rows(session, world.admin, rows, None)

    assert report.created == 1
    assert [e.name for e in enterprises_of(session, world.other_town)] == ["某企业"]


def test_the_same_code_in_two_units_is_not_a_duplicate(session: Session, world: World) -> None:
    rows = [
        Row(2, {"name": "甲", "sector": "gas", "credit_code": make_code(1), "unit": "城关街道"}),
        Row(3, {"name": "甲", "sector": "gas", "credit_code": make_code(1), "unit": "东湖镇"}),
    ]

    report = enterprise_import.import_rows(session, world.admin, rows, None)

    assert (report.created, report.errors) == (2, [])


# Bad rows: nothing is imported and each bad row is named ----------------------------------------


def test_one_bad_credit_code_imports_nothing_and_names_its_line_and_field(
    session: Session, world: World, tmp_path: Path
) -> None:
    bad = wrong_check(make_code(3))
    path = write_csv(
        tmp_path / "list.csv",
        [
            HEADINGS,
            ["甲公司", make_code(1), "gas", "", "", ""],
            ["乙公司", make_code(2), "gas", "", "", ""],
            ["丙公司", bad, "gas", "", "", ""],
            ["丁公司", make_code(4), "gas", "", "", ""],
        ],
    )

    report = import_file(session, world, path)

    assert report.created == 0
    assert [(e.line, list(e.fields)) for e in report.errors] == [(4, ["credit_code"])]
    assert report.describe() == [
        f"line 4: credit_code: Not a valid 统一社会信用代码: check character is wrong: "
        f"expected {make_code(3)[17]}, got {bad[17]}."
    ]
    assert enterprise_count(session) == 0


def test_the_same_code_twice_in_the_file_is_reported_on_the_later_line(
    session: Session, world: World
) -> None:
    rows = [
        row(2, name="甲", sector="gas", credit_code=make_code(1)),
        row(3, name="乙", sector="gas", credit_code=make_code(2)),
        row(4, name="甲（重复）", sector="gas", credit_code=make_code(1).lower()),
    ]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    assert report.errors == [
        RowError(
            4,
            {
                "credit_code": [
                    "Same 统一社会信用代码 as line 2, in the same unit; keep one of the two."
                ]
            },
        )
    ]
    assert enterprise_count(session) == 0


def test_a_code_already_registered_in_the_unit_is_reported(session: Session, world: World) -> None:
    enterprises.create(
        session,
        world.admin,
        world.town,
        {"name": "甲", "sector": "gas", "credit_code": make_code(1)},
    )
    rows = [
        row(2, name="甲", sector="gas", credit_code=make_code(1)),
        row(3, name="乙", sector="gas", credit_code=make_code(2)),
    ]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    assert report.errors == [
        RowError(
            2, {"credit_code": ["Already registered in 城关街道; leave this row out of the file."]}
        )
    ]
    assert enterprise_count(session) == 1


def test_a_code_registered_between_check_and_create_leaves_nothing_of_the_file(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    enterprises.create(
        session,
        world.admin,
        world.town,
        {"name": "甲", "sector": "gas", "credit_code": make_code(1)},
    )
    # As if another import committed the code after this one checked it.
    monkeypatch.setattr(enterprise_import, "_registered", lambda *args: False)
    rows = [
        row(2, name="乙", sector="gas", credit_code=make_code(2)),
        row(3, name="甲", sector="gas", credit_code=make_code(1)),
    ]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    assert (report.created, report.errors) == (
        0,
        [RowError(3, {"credit_code": ["Already registered in this unit."]})],
    )
    assert [e.name for e in enterprises_of(session, world.town)] == ["甲"]


def test_an_unknown_unit_is_reported(session: Session, world: World) -> None:
    rows = [row(2, name="甲", sector="gas", unit="西湖镇")]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    assert report.errors == [
        RowError(
            2, {"unit": ["No unit '西湖镇' among the units you can see; use its exact name or id."]}
        )
    ]


def test_a_unit_outside_the_importers_scope_reads_as_unknown(
    session: Session, world: World
) -> None:
    rows = [
        row(2, name="甲", sector="gas", unit="邻区"),
        row(3, name="乙", sector="gas", unit=str(world.elsewhere.id)),
    ]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    assert report.errors == [
        RowError(
            2, {"unit": ["No unit '邻区' among the units you can see; use its exact name or id."]}
        ),
        RowError(
            3,
            {
                "unit": [
                    f"No unit '{world.elsewhere.id}' among the units you can see; "
                    "use its exact name or id."
                ]
            },
        ),
    ]
    assert enterprises_of(session, world.elsewhere) == []


def test_a_default_unit_outside_the_importers_scope_is_reported(
    session: Session, world: World
) -> None:
    report = enterprise_import.import_rows(
        session, world.admin, [row(2, name="甲", sector="gas")], world.elsewhere
    )

    assert [(e.line, list(e.fields)) for e in report.errors] == [(2, ["unit"])]
    assert enterprise_count(session) == 0


def test_a_row_without_a_unit_needs_a_default_unit(session: Session, world: World) -> None:
    report = enterprise_import.import_rows(
        session, world.admin, [row(2, name="甲", sector="gas")], None
    )

    assert report.errors == [
        RowError(2, {"unit": ["No 所属单位 in this row and no default unit for the import."]})
    ]


def test_every_bad_field_of_a_row_is_reported(session: Session, world: World) -> None:
    rows = [row(5, name=None, sector="燃汽", credit_code="123", contact_phone="1" * 41)]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    (error,) = report.errors
    assert error.line == 5
    assert sorted(error.fields) == ["contact_phone", "credit_code", "name", "sector"]
    assert error.fields["sector"][0].startswith("Unknown 行业领域 '燃汽'; use one of 矿山、")
    assert error.fields["contact_phone"] == ["At most 40 characters; this has 41."]


def test_a_row_without_a_sector_is_reported(session: Session, world: World) -> None:
    report = enterprise_import.import_rows(
        session, world.admin, [row(2, name="甲", sector=None)], world.town
    )

    assert report.errors == [
        RowError(2, {"sector": ["Required: a 行业领域 such as 城镇燃气 or gas."]})
    ]


def test_progress_is_reported_once_per_row(session: Session, world: World) -> None:
    steps: list[int] = []
    rows = [
        row(2, name="甲", sector="gas"),
        row(3, name="乙", sector="nope"),
        row(4, name="丙", sector="gas"),
    ]

    enterprise_import.import_rows(session, world.admin, rows, world.town, progress=steps.append)

    assert steps == [1, 1, 1]


# Reading files ----------------------------------------------------------------------------------


def test_gb18030_csv_from_excel_on_chinese_windows_is_read(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [["企业名称", "行业领域"], ["城关燃气有限公司", "燃气"]],
        encoding="gb18030",
    )

    assert enterprise_import.read_rows(path) == [
        Row(2, {"name": "城关燃气有限公司", "sector": "燃气"})
    ]


def test_utf8_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [["企业名称", "行业领域"], ["城关燃气有限公司", "燃气"]],
        encoding="utf-8-sig",
    )

    assert enterprise_import.read_rows(path) == [
        Row(2, {"name": "城关燃气有限公司", "sector": "燃气"})
    ]


def test_empty_rows_are_skipped_and_lines_keep_their_spreadsheet_numbers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            [],
            ["name", "sector", "address"],
            ["甲", "gas", ""],
            [],
            ["", " ", ""],
            ["乙", "fire", "  河口路5号 "],
        ],
    )

    assert enterprise_import.read_rows(path) == [
        Row(3, {"name": "甲", "sector": "gas", "address": None}),
        Row(6, {"name": "乙", "sector": "fire", "address": "河口路5号"}),
    ]


def test_xlsx_empty_rows_are_skipped_and_lines_keep_their_spreadsheet_numbers(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path / "list.xlsx",
        [[None], ["企业名称", "行业领域"], ["甲", "燃气"], [None, None], ["乙", "消防"]],
    )

    assert enterprise_import.read_rows(path) == [
        Row(3, {"name": "甲", "sector": "燃气"}),
        Row(5, {"name": "乙", "sector": "消防"}),
    ]


def test_xlsx_numbers_become_text_without_a_decimal_point(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "list.xlsx",
        [
            ["企业名称", "行业领域", "联系电话", "地址"],
            ["甲", "gas", 13800138000, 12.5],
            ["乙", "gas", 13900139000.0, None],
        ],
    )

    assert [r.values for r in enterprise_import.read_rows(path)] == [
        {"name": "甲", "sector": "gas", "contact_phone": "13800138000", "address": "12.5"},
        {"name": "乙", "sector": "gas", "contact_phone": "13900139000", "address": None},
    ]


def test_an_unknown_heading_makes_the_file_unreadable(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", [["企业名称", "行业领域", "备注"], ["甲", "gas", "x"]])

    with pytest.raises(UnreadableFile, match="unknown column headings 备注"):
        enterprise_import.read_rows(path)


@pytest.mark.parametrize(
    ("headings", "missing"),
    [
        (["企业名称", "地址"], "sector"),
        (["行业领域"], "name"),
    ],
)
def test_a_file_without_a_required_heading_is_unreadable(
    tmp_path: Path, headings: list[str], missing: str
) -> None:
    path = write_csv(tmp_path / "list.csv", [headings, ["x"] * len(headings)])

    with pytest.raises(UnreadableFile, match=f"no column for {missing}"):
        enterprise_import.read_rows(path)


def test_a_value_under_a_column_without_heading_makes_the_file_unreadable(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", [["企业名称", "行业领域"], ["甲", "gas", "多余"]])

    with pytest.raises(UnreadableFile, match="line 2: column C has a value but no heading"):
        enterprise_import.read_rows(path)


@pytest.mark.parametrize("name", ["list.xls", "list.txt", "list"])
def test_only_csv_and_xlsx_are_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("name,sector\n")

    with pytest.raises(UnreadableFile, match=r"use \.csv or \.xlsx"):
        enterprise_import.read_rows(path)


def test_a_broken_xlsx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"not a zip file")

    with pytest.raises(UnreadableFile, match=r"not a readable \.xlsx workbook"):
        enterprise_import.read_rows(path)


def test_a_file_without_any_rows_is_unreadable(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", [[], [""]])

    with pytest.raises(UnreadableFile, match="is empty"):
        enterprise_import.read_rows(path)


# Through the command line -----------------------------------------------------------------------


def anjian(*args: str) -> Result:
    from backend.cli import main  # here, so that only the CLI test fails while the CLI cannot

    return CliRunner().invoke(main, list(args))


def prepare_cli_database() -> None:
    """`anjian init` in the data dir, then a district 示范区 with a town 城关街道 and its admin."""
    result = anjian("init")
    assert result.exit_code == 0, result.output
    db = Database(Config.from_env().database_url)
    with db.session() as session:
        district = make_unit(session, "示范区", UnitKind.district, None)
        make_unit(session, "城关街道", UnitKind.town, district)
        organisation.create_user(
            session,
            None,
            username="admin",
            display_name="系统管理员",
            password="a-long-password",
            role=Role.admin,
            unit=district,
        )
    db.dispose()


def cli_enterprise_count() -> int:
    db = Database(Config.from_env().database_url)
    with db.session() as session:
        count = enterprise_count(session)
    db.dispose()
    return count


def test_the_cli_writes_nothing_for_a_bad_file_and_everything_once_it_is_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "SECRET_KEY", "ANJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANJIAN_DATA_DIR", str(tmp_path / "data"))
    prepare_cli_database()
    good = ["甲公司", make_code(1), "gas", "", "", ""]
    bad = write_csv(
        tmp_path / "bad.csv",
        [HEADINGS, good, ["乙公司", wrong_check(make_code(2)), "燃气", "", "", ""]],
    )
    fixed = write_csv(
        tmp_path / "fixed.csv", [HEADINGS, good, ["乙公司", make_code(2), "燃气", "", "", ""]]
    )

    refused = anjian("enterprises", "import", str(bad), "--unit", "城关街道")
    count_after_bad = cli_enterprise_count()
    imported = anjian("enterprises", "import", str(fixed), "--unit", "城关街道")

    assert refused.exit_code == 1
    assert "line 3: credit_code: Not a valid 统一社会信用代码" in refused.output
    assert "1 of 2 rows are bad; nothing was imported." in refused.output
    assert count_after_bad == 0
    assert imported.exit_code == 0, imported.output
    assert "Imported 2 enterprises." in imported.output
    assert cli_enterprise_count() == 2


# Hostile files (issue 12) ----------------------------------------------------------------------


def test_an_xlsx_that_unpacks_to_too_much_is_refused_before_openpyxl_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "xl/worksheets/sheet1.xml", b" " * (enterprise_import.MAX_UNPACKED_BYTES + 1)
        )
    assert path.stat().st_size < 1024 * 1024  # ~100 KB on disk

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl must not open a zip bomb")

    monkeypatch.setattr(enterprise_import, "load_workbook", never)
    with pytest.raises(UnreadableFile, match="unpacks to"):
        enterprise_import.read_rows(path)


def test_an_xlsx_with_malformed_xml_is_unreadable(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", [["name", "sector"], ["企业", "gas"]])
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] + b"<<not xml"
            target.writestr(member, data)

    with pytest.raises(UnreadableFile, match=r"not a readable \.xlsx workbook"):
        enterprise_import.read_rows(broken)


def test_a_file_too_large_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"name,sector\n" + b"x" * enterprise_import.MAX_FILE_BYTES)

    with pytest.raises(UnreadableFile, match="larger than"):
        enterprise_import.read_rows(path)


def test_a_file_with_too_many_rows_is_refused(tmp_path: Path) -> None:
    lines = [["name", "sector"]] + [
        [f"企业{n}", "gas"] for n in range(enterprise_import.MAX_ROWS + 1)
    ]
    path = write_csv(tmp_path / "list.csv", lines)

    with pytest.raises(UnreadableFile, match="more than"):
        enterprise_import.read_rows(path)


def test_a_cell_with_refused_characters_is_reported_on_its_line(
    session: Session, world: World
) -> None:
    rows = [row(2, name="企业\x00", sector="gas"), row(3, name="好企业", sector="gas")]

    report = enterprise_import.import_rows(session, world.admin, rows, world.town)

    (error,) = report.errors
    assert (error.line, list(error.fields)) == (2, ["name"])
    assert report.created == 0
