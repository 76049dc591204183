"""media.bundle: reproducible stored ZIPs streamed from the store into it, and their checks."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from media import LocalStore, ObjectStore, S3Store
from media.bundle import (
    MANIFEST,
    SHA256SUMS,
    BundleSourceChanged,
    Entry,
    manifest_bytes,
    sha256sums,
    verify_zip,
    write_zip,
)


def _stored(store: LocalStore, key: str, data: bytes) -> Entry:
    store.put(key, data, content_type="image/jpeg")
    return Entry("x", hashlib.sha256(data).hexdigest(), len(data), key=key)


def _entries(store: LocalStore, big: bytes = b"") -> list[Entry]:
    photo = _stored(store, "originals/aa/bb/one", b"\xff\xd8 photo one " * 1000 + big)
    other = _stored(store, "originals/aa/bb/two", b"\xff\xd8 photo two")
    files = [
        Entry("隐患-YH-2026-000001/整改前/01.jpg", photo.sha256, photo.size, key=photo.key),
        Entry("隐患-YH-2026-000001/整改后/01.jpg", other.sha256, other.size, key=other.key),
        Entry.of_bytes("summary.html", "<p>隐患描述</p>".encode()),
    ]
    manifest = Entry.of_bytes(MANIFEST, manifest_bytes(files, {"scope": "hazard"}))
    return [*files, manifest, Entry.of_bytes(SHA256SUMS, sha256sums([*files, manifest]))]


def _zip(store: LocalStore, key: str) -> Path:
    return store.root / key


def test_the_same_entries_give_the_same_bytes_in_any_order(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    entries = _entries(store)
    first = write_zip(store, "bundles/a.zip", entries)
    second = write_zip(store, "bundles/b.zip", list(reversed(entries)))
    assert first == second
    assert _zip(store, "bundles/a.zip").read_bytes() == _zip(store, "bundles/b.zip").read_bytes()
    assert hashlib.sha256(_zip(store, "bundles/a.zip").read_bytes()).hexdigest() == first.sha256
    assert first.size == _zip(store, "bundles/a.zip").stat().st_size


def test_entries_are_stored_sorted_with_utf8_names_and_a_fixed_time(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    write_zip(store, "b.zip", _entries(store), date_time=(2026, 12, 3, 9, 0, 0))
    with zipfile.ZipFile(_zip(store, "b.zip")) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names, key=str.encode)
    assert "隐患-YH-2026-000001/整改前/01.jpg" in names
    for info in infos:
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (2026, 12, 3, 9, 0, 0)
        assert info.external_attr == 0o100644 << 16
    assert all(info.flag_bits & 0x800 for info in infos if not info.filename.isascii())


def test_a_fresh_bundle_verifies_and_passes_sha256sum(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    write_zip(store, "b.zip", _entries(store))
    assert verify_zip(str(_zip(store, "b.zip"))) == []
    out = tmp_path / "out"
    with zipfile.ZipFile(_zip(store, "b.zip")) as archive:
        archive.extractall(out)
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum on this machine")
    result = subprocess.run(
        ["sha256sum", "-c", SHA256SUMS], cwd=out, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_verify_names_the_file_whose_byte_changed(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    write_zip(store, "b.zip", _entries(store))
    data = bytearray(_zip(store, "b.zip").read_bytes())
    data[data.index(b"photo two") + 2] ^= 0x01  # one byte of one photo
    problems = verify_zip(io.BytesIO(bytes(data)))
    assert [p.name for p in problems] == ["隐患-YH-2026-000001/整改后/01.jpg"]


def test_a_source_that_differs_from_the_plan_leaves_no_bundle(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    entries = _entries(store)
    store.put("originals/aa/bb/two", b"replaced", content_type="image/jpeg")
    with pytest.raises(BundleSourceChanged, match=r"整改后/01\.jpg"):
        write_zip(store, "bundles/b.zip", entries)
    assert not store.exists("bundles/b.zip")
    assert list(store.iter_keys("bundles/")) == []


def test_a_missing_source_leaves_no_bundle(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    entries = _entries(store)
    store.delete("originals/aa/bb/one")
    with pytest.raises(BundleSourceChanged, match="no object"):
        write_zip(store, "bundles/b.zip", entries)
    assert not store.exists("bundles/b.zip")


def test_zip64_records_are_written_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 GiB of test data is too slow; the same code path runs with the limit lowered.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4096)
    store = LocalStore(tmp_path)
    write_zip(store, "b.zip", _entries(store, big=b"\0" * 10_000))
    data = _zip(store, "b.zip").read_bytes()
    assert b"PK\x06\x06" in data  # the zip64 end of central directory record
    monkeypatch.undo()
    assert verify_zip(io.BytesIO(data)) == []


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    entries = _entries(store)
    seen: list[tuple[int, int]] = []
    write_zip(store, "b.zip", entries, progress=lambda done, total: seen.append((done, total)))
    total = sum(e.size for e in entries)
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def _big_entries(store: ObjectStore, count: int, size: int) -> list[Entry]:
    entries = []
    for n in range(count):
        data = bytes([n]) * size
        key = f"originals/{n:02d}/big"
        store.put(key, data, content_type="image/jpeg")
        entries.append(Entry(f"照片/{n:02d}.jpg", hashlib.sha256(data).hexdigest(), size, key=key))
    return entries


@pytest.mark.s3
def test_a_multipart_bundle_on_s3_matches_the_local_one(s3_store: S3Store, tmp_path: Path) -> None:
    local = LocalStore(tmp_path)
    mib = 1024 * 1024
    on_s3 = write_zip(s3_store, "bundles/b.zip", _big_entries(s3_store, 4, 6 * mib))
    here = write_zip(local, "bundles/b.zip", _big_entries(local, 4, 6 * mib))
    assert on_s3 == here
    assert s3_store.size("bundles/b.zip") == here.size > 24 * mib  # more than one 8 MiB part
    assert hashlib.sha256(s3_store.get("bundles/b.zip")).hexdigest() == here.sha256


@pytest.mark.s3
def test_a_failed_build_on_s3_aborts_its_multipart_upload(s3_store: S3Store) -> None:
    mib = 1024 * 1024
    entries = _big_entries(s3_store, 4, 6 * mib)
    s3_store.delete(entries[-1].key or "")  # found missing after two parts were sent
    with pytest.raises(BundleSourceChanged, match="no object"):
        write_zip(s3_store, "bundles/b.zip", entries)
    assert not s3_store.exists("bundles/b.zip")
    client = s3_store._client
    assert client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", []) == []


def test_tail_entries_come_after_the_others_in_a_fixed_order(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    photos = _entries(store)[:2]
    late = [Entry.of_bytes("summary.pdf", b"%PDF"), Entry.of_bytes("manifest.json", b"{}")]
    write_zip(store, "a.zip", photos, tail=lambda: late)
    write_zip(store, "b.zip", list(reversed(photos)), tail=lambda: list(reversed(late)))
    assert store.get("a.zip") == store.get("b.zip")
    with zipfile.ZipFile(_zip(store, "a.zip")) as archive:
        names = archive.namelist()
    assert names[-2:] == ["manifest.json", "summary.pdf"]
    assert sorted(names[:-2], key=str.encode) == names[:-2]


def test_a_tail_that_fails_leaves_no_bundle(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)

    def tail() -> list[Entry]:
        raise RuntimeError("summary.pdf failed to render")

    with pytest.raises(RuntimeError, match="failed to render"):
        write_zip(store, "bundles/b.zip", _entries(store)[:2], tail=tail)
    assert not store.exists("bundles/b.zip")
