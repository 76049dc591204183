"""`anjian bundles build` and `anjian bundles verify` on the embedded default."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.cli import main
from backend.models import ChecklistVersion, Inspection, InspectionStatus, Role, UnitKind
from tests.factories import make_enterprise, make_unit, make_user

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")


@pytest.fixture
def inspection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> uuid.UUID:
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "SECRET_KEY", "ANJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANJIAN_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'anjian.sqlite3'}")
    with Session(engine) as session:
        district = make_unit(session, kind=UnitKind.district)
        inspector = make_user(session, district, Role.inspector)
        enterprise = make_enterprise(session, district, name="命令行测试企业", sector="gas")
        version = session.scalars(
            select(ChecklistVersion).where(ChecklistVersion.checklist_code == "gas")
        ).first()
        assert version is not None
        row = Inspection(
            id=uuid.uuid4(),
            unit_id=district.id,
            enterprise_id=enterprise.id,
            inspector_id=inspector.id,
            checklist_code=version.checklist_code,
            checklist_version=version.version,
            kind="department_inspection",
            status=InspectionStatus.submitted,
        )
        session.add(row)
        session.commit()
        inspection_id = row.id
    engine.dispose()
    return inspection_id


def test_build_shows_progress_saves_the_zip_and_reuses_it(
    inspection: uuid.UUID, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "bundle.zip"
    first = runner.invoke(
        main, ["bundles", "build", "inspection", str(inspection), "--output", str(out)]
    )
    assert first.exit_code == 0, first.output
    assert "\tbuilt\t" in first.output
    assert "检查-" in first.output  # the progress bar's label
    second = runner.invoke(main, ["bundles", "build", "inspection", str(inspection)])
    assert second.exit_code == 0, second.output
    assert "\treused\t" in second.output
    assert first.output.split("sha256 ")[1][:64] == second.output.split("sha256 ")[1][:64]
    verified = runner.invoke(main, ["bundles", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK")


def test_verify_of_a_file_that_is_no_zip_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    result = CliRunner().invoke(main, ["bundles", "verify", str(bad)])
    assert result.exit_code == 1
    assert "is not a ZIP file" in result.output
