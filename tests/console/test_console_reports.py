"""调度表 in the console: the report as printed, a figure's records, filing, the XLSX, scope."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.console.reports import REASONS as CONSOLE_REASONS
from backend.models import ReportFiling, Role
from backend.services.reports import counting
from reports import load_template
from tests.backend.reports.support import District, at
from tests.console.browser_support import CJK
from tests.console.conftest import sign_in
from tests.factories import auth_headers, make_unit, make_user
from tests.reports.seed_tables import seed_text, squeeze
from tests.reports.test_templates import FORMS

SEP = date(2023, 9, 10)
LICHENG = {"template": "licheng", "from": "2023-05-01", "to": "2023-09-26"}


@pytest.fixture
def district(session: Session) -> District:
    d = District.make(session, ["西天尾镇"], ["区应急局"])
    a = d.hazard("区应急局", SEP)
    d.hazard("区应急局", SEP)
    d.rectify(a, at(date(2023, 9, 20)))
    d.record("区应急局", "penalty", SEP, detail={"work_safety": False})
    session.commit()
    return d


def _q(district: District, **extra: str) -> dict[str, str]:
    return {**LICHENG, "unit": str(district.unit.id), **extra}


def test_the_report_reads_like_the_printed_form(client: FlaskClient, district: District) -> None:
    sign_in(client, district.admin)
    reply = client.get("/console/reports", query_string=_q(district))
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200, page[:2000]
    assert "<h1>调度表</h1>" in page
    assert "荔城区专项行动进展情况调度表" in page
    assert '<th colspan="2" rowspan="2">一般隐患</th>' in page
    assert "累计" in page
    assert "西天尾镇" in page
    assert "区应急局" in page
    assert "一般隐患整改率：50.00%" in page
    assert "督办率：无（分母为 0）" in page  # 0/0 is none, never 100%
    assert "行政处罚" in page
    assert "未计入的记录（1）" in page
    assert "不是安全生产行政处罚（填表说明 5）" in page  # the reason in Chinese
    assert "/console/reports/cell?" in page
    nav = page.split("<main>")[0]
    assert "调度表" in nav


def test_a_figure_links_to_its_records(client: FlaskClient, district: District) -> None:
    sign_in(client, district.admin)
    reply = client.get("/console/reports/cell", query_string=_q(district, column="general_found"))
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200, page[:2000]
    assert "数据来源" in page
    assert page.count("/console/hazards/") == 2
    assert "计入 2 条" in page


def test_the_xlsx_is_the_apis_bytes(client: FlaskClient, district: District) -> None:
    api = client.get(
        "/api/v1/reports/dispatch",
        query_string={**_q(district), "format": "xlsx"},
        headers=auth_headers(client, district.admin),
    )
    sign_in(client, district.admin)
    mine = client.get("/console/reports/xlsx", query_string=_q(district))
    assert mine.status_code == 200
    assert mine.data == api.data
    assert mine.mimetype.endswith("spreadsheetml.sheet")


def test_another_units_report_is_404(
    client: FlaskClient, session: Session, district: District
) -> None:
    stranger = make_user(session, make_unit(session), Role.supervisor)
    session.commit()
    token = sign_in(client, stranger)
    assert client.get("/console/reports", query_string=_q(district)).status_code == 404
    assert (
        client.get(
            "/console/reports/cell", query_string=_q(district, column="general_found")
        ).status_code
        == 404
    )
    assert client.get("/console/reports/xlsx", query_string=_q(district)).status_code == 404
    filed = client.post(
        "/console/reports/filings",
        data={**_q(district), "preparer_id": str(stranger.id), "csrf_token": token},
    )
    assert filed.status_code == 404


def test_a_supervisor_files_and_files_again_with_a_reason(
    client: FlaskClient, session: Session, district: District
) -> None:
    place = district.places["区应急局"]
    q = {**LICHENG, "unit": str(place.unit.id)}
    token = sign_in(client, place.supervisor)
    without = client.post(
        "/console/reports/filings", data={**q, "preparer_id": str(place.inspector.id)}
    )
    assert without.status_code == 400  # no CSRF token
    first = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "第 1 版" in page
    assert "迟报" in page
    again = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert again.status_code == 422
    assert "再次报送（更正）须填写理由" in again.get_data(as_text=True)
    second = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token, "reason": "补录"},
    )
    assert second.status_code == 302
    versions = session.scalars(
        select(ReportFiling.version).where(ReportFiling.unit_id == place.unit.id)
    ).all()
    assert sorted(versions) == [1, 2]


def test_an_inspector_cannot_file_and_the_parent_sees_who_has_not(
    client: FlaskClient, session: Session, district: District
) -> None:
    place = district.places["区应急局"]
    q = {**LICHENG, "unit": str(place.unit.id)}
    token = sign_in(client, place.inspector)
    refused = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert refused.status_code == 403
    assert "调度表由本单位的审核人" in refused.get_data(as_text=True)
    assert session.scalars(select(ReportFiling)).first() is None
    client.post("/console/logout", data={"csrf_token": token})
    sign_in(client, district.admin)
    page = client.get("/console/reports", query_string=_q(district)).get_data(as_text=True)
    assert "下级单位报送情况" in page
    assert page.count('badge warn">未报送') == 2


class _Table(HTMLParser):
    """The rows of the page's #dispatch table: each cell as (tag, text, rowspan, colspan)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str, int, int]]] = []
        self.depth = 0  # inside #dispatch: nesting of <table>
        self.cell: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (self.depth or a.get("id") == "dispatch"):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("th", "td"):
            self.cell = [tag, "", int(a.get("rowspan") or 1), int(a.get("colspan") or 1)]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.cell is not None and tag in ("th", "td"):
            self.rows[-1].append((self.cell[0], self.cell[1].strip(), self.cell[2], self.cell[3]))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[1] += data


def _dispatch_rows(page: str) -> list[list[tuple[str, str, int, int]]]:
    parser = _Table()
    parser.feed(page)
    assert parser.rows, "no #dispatch table"
    return parser.rows


def _printed_lines(seed: str, start: str, end: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """The printed form line by line: (block title where a block opens, else "", its items)."""
    text = seed_text(seed)
    body = text[text.index(start) : text.index(end)]
    lines = []
    for line in body.split("\n"):
        cells = line.split("\t")
        if len(cells) < 3:
            continue
        rest = [c.strip() for c in cells[1:]]
        items = [(int(c), squeeze(rest[i + 1])) for i, c in enumerate(rest[:-1]) if c.isdigit()]
        lines.append((squeeze(cells[0]), items))
    return lines


@pytest.mark.parametrize("template_id", ["fuzhou", "haicheng"])
def test_a_form_template_reads_like_its_printed_form(
    client: FlaskClient, session: Session, district: District, template_id: str
) -> None:
    """福州 附件4 and 海城 附件: the blocks as merged cells over their lines, two numbered items
    a line in the seed's order, each figure with its unit and a link to its records, the
    printed header and footer lines, and the rates."""
    seed, start, end = FORMS[template_id]
    t = load_template(template_id)
    place = district.places["区应急局"]
    major = district.hazard("区应急局", SEP, level="major")
    district.hazard("区应急局", SEP, level="major")
    district.rectify(major, at(date(2023, 9, 15)))
    session.commit()
    q = {"template": template_id, "unit": str(place.unit.id), "month": "2023-09"}
    sign_in(client, place.supervisor)
    reply = client.get("/console/reports", query_string=q)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200, page[:2000]
    assert f'<h2 class="form-title">{t.title}</h2>' in page

    printed = _printed_lines(seed, start, end)
    rows = _dispatch_rows(page)
    assert len(rows) == len(printed)
    spans = [0] * len(printed)  # a block's lines: from its opening line to the next one
    opener = 0
    for i, (opens, _items) in enumerate(printed):
        opener = i if opens else opener
        spans[opener] += 1
    block = ""
    for row, (opens, items), span in zip(rows, printed, spans, strict=True):
        cells = list(row)
        if opens:  # the block's title: one cell over all its lines
            block = opens
            assert cells.pop(0)[:3] == ("th", opens, span)
        shown = [(int(cells[i][1]), squeeze(cells[i + 1][1])) for i in range(0, 3 * len(items), 3)]
        assert shown == items
        for i, (number, _label) in enumerate(items):
            figure = cells[3 * i + 2][1]
            units = [c.unit for c in t.columns if (str(c.block), c.number) == (block, number)]
            assert units, (block, number)
            for unit in units:  # each figure followed by its unit, as the label prints it
                assert unit in figure if unit else figure in ("是", "否"), (number, figure)
    assert sum(len(items) for _o, items in printed) == 32

    assert ">2</a>个" in page  # 部门检查发现的重大事故隐患: the two majors
    assert page.count("/console/reports/cell?") >= len(t.columns) - 1
    if template_id == "fuzhou":
        assert f'<p class="printed-line">填报单位：{place.unit.name}</p>' in page
        assert '<p class="printed-line">注：1.本表自 6 月份开始上报' in page
    else:
        assert f"{place.unit.name} 镇(街)、开发区、市安委会成员单位(加盖公章)" in page
        assert '<p class="printed-line">填表人: </p>' in page  # not filed yet: blank
    assert "重大隐患整改率：50.00%" in page
    assert "督办率：0.00%" in page  # none of the two listed: 0 of 2, a real 0


def test_a_restatement_shows_each_changed_figure(
    client: FlaskClient, session: Session, district: District
) -> None:
    """Filing again stores the differences from the version before; the console lists the
    filings (填表人, 审核人, 按时/迟报, reason) and each changed figure old → new."""
    place = district.places["区应急局"]
    q = {**LICHENG, "unit": str(place.unit.id)}
    token = sign_in(client, place.supervisor)
    first = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert first.status_code == 302
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "changes-1" not in page  # the first filing has nothing to compare with
    district.hazard("区应急局", date(2023, 9, 12))  # a hazard entered late: found 2 → 3
    session.commit()
    second = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.checker.id), "csrf_token": token, "reason": "补录"},
    )
    assert second.status_code == 302, second.get_data(as_text=True)[:2000]
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    filings = page[
        page.index('id="filings"') : page.index("</table></div>", page.index('id="filings"'))
    ]
    v1 = filings[filings.index('id="filing-1"') : filings.index('id="filing-2"')]
    assert place.inspector.display_name in v1
    assert place.supervisor.display_name in v1
    assert "迟报" in v1
    v2 = filings[filings.index('id="filing-2"') :]
    assert "第 2 版（更正）" in v2
    assert place.checker.display_name in v2
    assert "补录" in v2
    changes = v2[v2.index('id="changes-2"') :]
    rows = re.findall(
        r"<tr><td[^>]*>(.*?)</td><td>(.*?)</td><td[^>]*>(.*?)</td><td>→</td><td[^>]*>(.*?)</td></tr>",
        changes,
    )
    assert ("区应急局", "一般隐患／排查", "2", "3") in rows
    assert ("累计", "一般隐患／排查", "2", "3") in rows
    stored = session.scalars(
        select(ReportFiling).where(ReportFiling.unit_id == place.unit.id, ReportFiling.version == 2)
    ).one()
    assert len(rows) == len(stored.differences)  # every stored difference, none made up


def test_every_reason_a_record_is_left_out_is_said_in_chinese() -> None:
    assert set(CONSOLE_REASONS) == set(counting.REASONS)
    assert all(CJK.search(text) for text in CONSOLE_REASONS.values())
