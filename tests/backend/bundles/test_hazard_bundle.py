"""A hazard's whole loop as one bundle: every step with its photos, the numbered notices, a
Chinese PDF with its font embedded, reproducible and verifiable (issue 14 acceptance)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from backend.cli import main as cli
from tests.backend.bundles.support import DESCRIPTION, ENTERPRISE, BundleWorld, manifest, members

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")


@pytest.fixture
def loop_bundle(world: BundleWorld) -> tuple[BundleWorld, object, dict[str, object], bytes]:
    loop = world.whole_loop()
    status = world.built("hazard", loop.hazard.id)
    return world, loop, status, world.download(status)


def test_the_manifest_shows_every_step_with_its_photos(loop_bundle) -> None:  # type: ignore[no-untyped-def]
    _world, loop, status, data = loop_bundle
    files = {f["path"]: f for f in manifest(data)["files"]}
    number = loop.hazard.number
    assert files[f"隐患-{number}/整改前/01.jpg"]["sha256"] == loop.before
    steps = sorted({p.split("/")[1] for p in files if p.startswith(f"隐患-{number}/0")})
    assert steps == [
        "03-整改情况报告",
        "05-整改情况报告",
        "06-复查（合格）",
    ]
    assert files[f"隐患-{number}/03-整改情况报告/01.jpg"]["sha256"] == loop.after[0]
    assert files[f"隐患-{number}/06-复查（合格）/01.jpg"]["record"]["step"] == "复查（合格）"
    before = files[f"隐患-{number}/整改前/01.jpg"]
    assert before["exif"]["taken_at"].startswith("2026-11-20T01:30:00")
    assert before["exif"]["gps"]["latitude"] == pytest.approx(26.075, abs=1e-3)
    assert any(p.startswith(f"隐患-{number}/检查记录/签名/01-inspector-李检查") for p in files)
    assert {"summary.html", "summary.pdf"} <= set(files)
    # The manifest's head lists every step of the loop, those without photos too.
    head = manifest(data)["steps"]
    assert [s["label"] for s in head] == [
        "登记入账",
        "挂牌督办",
        "整改情况报告",
        "复查（不合格）",
        "整改情况报告",
        "复查（合格）",
        "销号",
    ]
    assert head[2]["files"] == [f"隐患-{number}/03-整改情况报告/01.jpg"]
    assert head[3]["files"] == []
    assert head[-1]["state_after"] == "已销号"
    assert status["sha256"]
    assert status["size"] == len(data)


def test_the_summary_shows_the_loop_and_the_numbered_notices(loop_bundle) -> None:  # type: ignore[no-untyped-def]
    _world, loop, _status, data = loop_bundle
    html = members(data)["summary.html"].decode()
    for text in (ENTERPRISE, DESCRIPTION, "挂牌督办", "复查（不合格）", "复查（合格）", "销号"):
        assert text in html
    assert "责令整改通知书" in html
    assert html.count("整改复查意见书") == 2
    assert "〔2026〕责改1号" in html
    assert "〔2026〕复查1号" in html
    assert "〔2026〕复查2号" in html
    assert "〔2026〕督办1号" in html
    assert f'src="隐患-{loop.hazard.number}/整改前/01.jpg"' in html


def test_the_pdf_has_the_chinese_text_and_embeds_a_cjk_font(
    loop_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _world, _loop, status, data = loop_bundle
    assert status["summary"] == {"html": True, "pdf": True, "pdf_skipped": None}
    pdf = members(data)["summary.pdf"]
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert ENTERPRISE in text
    assert DESCRIPTION[:12] in text.replace("\n", "")
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert fonts, "no font in the PDF"
    assert all("Noto-Sans-CJK-SC" in f for f in fonts), fonts
    path = tmp_path / "summary.pdf"
    path.write_bytes(pdf)
    # poppler-utils is installed with the font (Dockerfile, .ci/run): no silent pass without it.
    assert shutil.which("pdffonts"), "pdffonts is missing: apt-get install poppler-utils"
    listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    cjk = [line for line in listed.stdout.splitlines() if "Noto-Sans-CJK-SC" in line]
    assert cjk, listed.stdout
    assert all(" yes " in line for line in cjk), listed.stdout  # emb column
    # The pages a person looks at (docs/bundles.md): the summary's first page and the notices.
    shots = Path(os.environ.get("BUNDLE_SCREENSHOTS", "var/screenshots/bundles")).resolve()
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("summary-*.png"):
        old.unlink()
    assert shutil.which("pdftoppm"), "pdftoppm is missing: apt-get install poppler-utils"
    pages = str(len(reader.pages))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", pages, str(path), str(shots / "summary")],
        check=True,
    )
    written = sorted(shots.glob("summary-*.png"))
    assert len(written) == len(reader.pages)
    assert all(p.stat().st_size > 10_000 for p in written)  # not blank pages


def test_building_twice_gives_the_same_bundle_and_a_caption_change_a_new_one(
    loop_bundle,  # type: ignore[no-untyped-def]
) -> None:
    world, loop, status, data = loop_bundle
    again = world.ask("hazard", loop.hazard.id)
    assert again.status_code == 202
    assert (again.json["id"], again.json["reused"]) == (status["id"], True)
    assert again.json["sha256"] == status["sha256"]
    world.recaption(loop.inspection_id, loop.caption_photo, "作业现场（复核）")
    changed = world.built("hazard", loop.hazard.id)
    assert changed["id"] != status["id"]
    assert changed["sha256"] != status["sha256"]
    # Rebuilt from scratch under the old inputs: byte for byte the same ZIP.
    world.recaption(loop.inspection_id, loop.caption_photo, "作业现场")
    rebuilt = world.ask("hazard", loop.hazard.id)
    assert rebuilt.json["id"] == status["id"]
    assert world.download(world.status(status["id"]).json) == data


def test_sha256sum_and_verify_pass_and_name_a_changed_file(
    loop_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _world, loop, _status, data = loop_bundle
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(data)
    runner = CliRunner()
    ok = runner.invoke(cli, ["bundles", "verify", str(bundle)])
    assert ok.exit_code == 0, ok.output
    out = tmp_path / "out"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(out)
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout
    # One byte of one photo changes, inside the ZIP and in the unpacked copy.
    name = f"隐患-{loop.hazard.number}/06-复查（合格）/01.jpg"
    raw = bytearray(data)
    photo = members(data)[name]
    at = raw.index(photo) + len(photo) // 2
    raw[at] ^= 0xFF
    bundle.write_bytes(bytes(raw))
    bad = runner.invoke(cli, ["bundles", "verify", str(bundle)])
    assert bad.exit_code == 1
    assert name in bad.output
    unpacked = out / name
    changed = bytearray(unpacked.read_bytes())
    changed[len(changed) // 2] ^= 0xFF
    unpacked.write_bytes(bytes(changed))
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 1
    assert f"{name}: FAILED" in checked.stdout


def test_a_user_who_cannot_see_every_record_gets_404(world: BundleWorld) -> None:
    loop = world.whole_loop()
    # The listing unit sees the ledger entry, not the town's inspection record and photos.
    assert world.ask("hazard", loop.hazard.id, world.district_supervisor).status_code == 404
    assert world.ask("hazard", loop.hazard.id, world.stranger).status_code == 404
    mine = world.ask("hazard", loop.hazard.id)
    assert mine.status_code == 202
    assert world.status(mine.json["id"], world.stranger).status_code == 404


def test_a_photo_in_two_places_is_stored_once_and_the_other_place_refers_to_it(
    loop_bundle,  # type: ignore[no-untyped-def]
) -> None:
    """The finding's photo is the hazard's before-photo: stored under 整改前 (where a person
    looks first), listed again under the inspection record by reference."""
    _world, loop, _status, data = loop_bundle
    files = members(data)
    shas = [hashlib.sha256(body).hexdigest() for body in files.values()]
    assert len(set(shas)) == len(shas), "two ZIP entries with the same bytes"
    folder = f"隐患-{loop.hazard.number}"
    stored, elsewhere = f"{folder}/整改前/01.jpg", f"{folder}/检查记录/隐患01/01.jpg"
    assert elsewhere not in files
    entries = {f["path"]: f for f in manifest(data)["files"]}
    assert entries[stored]["sha256"] == loop.before
    [also] = entries[stored]["also"]
    assert also["path"] == elsewhere
    assert also["record"]["type"] == "inspection"
    assert also["record"]["id"] == str(loop.inspection_id)
    assert "finding" in also["record"]
    # The summary shows the stored file at both places, saying it is the same one.
    html = files["summary.html"].decode()
    assert html.count(f'src="{stored}"') == 2
    assert "同一文件，只存一份" in html
    assert elsewhere not in html
