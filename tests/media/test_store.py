"""The object-store contract, run against the local directory and a real S3 server (SeaweedFS),
then what only one of them does."""

from __future__ import annotations

import hashlib
import io
import socket
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from media.store import (
    LocalStore,
    ObjectNotFound,
    ObjectStore,
    S3Settings,
    S3Store,
    StoreError,
    StoreUnavailable,
)
from tests.support.s3 import S3Server

MiB = 1024 * 1024
KEY = "originals/ab/cd/abcd0123"
JPEG = "image/jpeg"
# Every byte value, so nothing gets away with treating objects as text.
ALL_BYTES = bytes(range(256)) * 64


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    return cast(ObjectStore, request.getfixturevalue(f"{request.param}_store"))


_PATTERN = bytes(range(251)) * (MiB // 251 + 2)  # 251: a prime, so chunks never line up


class PatternStream(io.RawIOBase):
    """``size`` deterministic bytes made up on demand; can fail after ``fail_after`` bytes."""

    def __init__(self, size: int, *, fail_after: int | None = None) -> None:
        super().__init__()
        self.size = size
        self.position = 0
        self.fail_after = fail_after
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.position >= self.fail_after:
            raise SourceBroken("the uploading client went away")
        count = min(len(buffer), MiB, self.size - self.position)
        start = self.position % 251
        chunk = memoryview(_PATTERN)[start : start + count]
        buffer[:count] = chunk
        self.digest.update(chunk)
        self.position += count
        return count


class SourceBroken(Exception):
    pass


def stream_of(size: int, *, fail_after: int | None = None) -> tuple[BinaryIO, PatternStream]:
    raw = PatternStream(size, fail_after=fail_after)
    return cast(BinaryIO, io.BufferedReader(raw)), raw


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    digest, total = hashlib.sha256(), 0
    with stream:
        while chunk := stream.read(MiB):
            digest.update(chunk)
            total += len(chunk)
    return digest.hexdigest(), total


# -- the contract ---------------------------------------------------------------------------------


def test_get_returns_exactly_the_bytes_that_were_put(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)

    assert store.get(KEY) == ALL_BYTES


def test_put_accepts_a_readable_stream(store: ObjectStore) -> None:
    store.put(KEY, io.BytesIO(ALL_BYTES), content_type=JPEG)

    assert store.get(KEY) == ALL_BYTES


def test_putting_the_same_bytes_again_changes_nothing(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)
    store.put(KEY, ALL_BYTES, content_type=JPEG)

    assert store.get(KEY) == ALL_BYTES
    assert [key for key, _ in store.iter_keys("originals/")] == [KEY]


def test_putting_other_bytes_under_a_key_replaces_the_object(store: ObjectStore) -> None:
    store.put(KEY, b"first version, longer than the second", content_type=JPEG)
    store.put(KEY, b"second", content_type=JPEG)

    assert store.get(KEY) == b"second"
    assert store.size(KEY) == len(b"second")


def test_exists_and_size_describe_a_stored_object(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)

    assert store.exists(KEY)
    assert store.size(KEY) == len(ALL_BYTES)


def test_exists_and_size_report_a_missing_object(store: ObjectStore) -> None:
    assert not store.exists(KEY)
    assert store.size(KEY) is None


def test_an_empty_object_is_still_an_object(store: ObjectStore) -> None:
    store.put(KEY, b"", content_type=JPEG)

    assert store.exists(KEY)
    assert store.size(KEY) == 0
    assert store.get(KEY) == b""


def test_delete_removes_the_object(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)

    store.delete(KEY)

    assert not store.exists(KEY)


def test_deleting_a_missing_key_is_not_an_error(store: ObjectStore) -> None:
    store.delete(KEY)
    store.delete(KEY)

    assert not store.exists(KEY)


def test_get_of_a_missing_key_raises_object_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound) as raised:
        store.get(KEY)

    assert raised.value.key == KEY


def test_open_of_a_missing_key_raises_object_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.open(KEY)


def test_a_key_that_is_only_a_prefix_of_stored_keys_is_missing(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)

    assert not store.exists("originals/ab")
    with pytest.raises(ObjectNotFound):
        store.get("originals/ab")


def test_open_streams_the_object(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)

    with store.open(KEY) as stream:
        chunks = list(iter(lambda: stream.read(1000), b""))

    assert b"".join(chunks) == ALL_BYTES
    assert len(chunks) == -(-len(ALL_BYTES) // 1000)


def test_iter_keys_yields_the_keys_under_a_prefix_with_their_time(store: ObjectStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for key in ["originals/ab/cd/1", "originals/ab/ef/2", "originals/ff/00/3", "thumbs/ab/cd/1"]:
        store.put(key, b"x", content_type=JPEG)
    after = datetime.now(UTC) + timedelta(seconds=5)

    listed = dict(store.iter_keys("originals/"))

    assert sorted(listed) == ["originals/ab/cd/1", "originals/ab/ef/2", "originals/ff/00/3"]
    assert all(before <= modified <= after for modified in listed.values())
    assert all(modified.tzinfo is not None for modified in listed.values())


def test_iter_keys_prefix_may_end_inside_a_segment(store: ObjectStore) -> None:
    for key in ["originals/ab/cd/1", "originals/abc/00/2", "originals/b/00/3"]:
        store.put(key, b"x", content_type=JPEG)

    assert sorted(key for key, _ in store.iter_keys("originals/ab")) == [
        "originals/ab/cd/1",
        "originals/abc/00/2",
    ]


def test_iter_keys_with_an_empty_prefix_yields_every_key(store: ObjectStore) -> None:
    for key in ["originals/ab/cd/1", "thumbs/ab/cd/1"]:
        store.put(key, b"x", content_type=JPEG)

    assert sorted(key for key, _ in store.iter_keys("")) == ["originals/ab/cd/1", "thumbs/ab/cd/1"]


def test_iter_keys_under_an_unused_prefix_yields_nothing(store: ObjectStore) -> None:
    store.put(KEY, b"x", content_type=JPEG)

    assert list(store.iter_keys("display/")) == []


def test_a_20_mb_stream_round_trips(store: ObjectStore) -> None:
    stream, source = stream_of(20 * MiB + 17)

    store.put(KEY, stream, content_type=JPEG)

    assert store.size(KEY) == source.size
    assert sha256_of(store.open(KEY)) == (source.digest.hexdigest(), source.size)


@pytest.mark.parametrize("fail_after", [3 * MiB, 20 * MiB], ids=["single-part", "multipart"])
def test_a_put_whose_source_fails_leaves_no_object(store: ObjectStore, fail_after: int) -> None:
    stream, _ = stream_of(24 * MiB, fail_after=fail_after)

    with pytest.raises(SourceBroken):
        store.put(KEY, stream, content_type=JPEG)

    assert not store.exists(KEY)
    assert list(store.iter_keys("")) == []


def test_a_failed_put_keeps_the_previous_object(store: ObjectStore) -> None:
    store.put(KEY, ALL_BYTES, content_type=JPEG)
    stream, _ = stream_of(4 * MiB, fail_after=MiB)

    with pytest.raises(SourceBroken):
        store.put(KEY, stream, content_type=JPEG)

    assert store.get(KEY) == ALL_BYTES


UNSAFE_KEYS = [
    "",
    "../etc/passwd",
    "originals/../../etc/passwd",
    "originals/./ab",
    "originals/.hidden",
    "/etc/passwd",
    "originals\\..\\secret",
    "originals//ab",
    "originals/ab/",
    "originals/a\x00b",
    "originals/a\nb",
    "x" * 1025,
]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    operations: list[Callable[[], object]] = [
        lambda: store.put(key, b"x", content_type=JPEG),
        lambda: store.get(key),
        lambda: store.open(key),
        lambda: store.exists(key),
        lambda: store.size(key),
        lambda: store.delete(key),
        lambda: store.presigned_get(key, expires_in=60),
        lambda: store.presigned_put(key, expires_in=60, content_type=JPEG),
    ]
    for operation in operations:
        with pytest.raises(ValueError, match="key"):
            operation()


@pytest.mark.parametrize("prefix", ["../", "originals/../", "/originals", "originals/.", "a\\b"])
def test_unsafe_prefixes_are_refused(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(ValueError, match="key"):
        list(store.iter_keys(prefix))


@pytest.mark.parametrize("expires_in", [0, -1, 7 * 24 * 3600 + 1])
def test_presigned_urls_refuse_an_expiry_out_of_range(store: ObjectStore, expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        store.presigned_get(KEY, expires_in=expires_in)
    with pytest.raises(ValueError, match="expires_in"):
        store.presigned_put(KEY, expires_in=expires_in, content_type=JPEG)


def test_check_passes_on_a_live_store(store: ObjectStore) -> None:
    store.check()


def test_store_errors_share_one_base() -> None:
    assert issubclass(ObjectNotFound, StoreError)
    assert issubclass(StoreUnavailable, StoreError)
    assert "originals/x" in str(ObjectNotFound("originals/x"))


# -- S3 only --------------------------------------------------------------------------------------


def test_a_put_with_its_sha256_stores_the_bytes(store: ObjectStore) -> None:
    digest = hashlib.sha256(ALL_BYTES).hexdigest()
    store.put(KEY, ALL_BYTES, content_type=JPEG, sha256=digest)
    assert store.get(KEY) == ALL_BYTES


@pytest.mark.s3
def test_s3_refuses_bytes_that_do_not_match_the_sha256_given(s3_store: S3Store) -> None:
    """The store checks the bytes against the hash it is given (the body is not signed then),
    and keeps nothing when they differ: a transfer that altered them fails."""
    other = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(StoreError) as refused:
        s3_store.put(KEY, ALL_BYTES, content_type=JPEG, sha256=other)
    assert not isinstance(refused.value, StoreUnavailable)
    assert not s3_store.exists(KEY)


@pytest.mark.s3
def test_s3_presigned_get_url_downloads_the_object(s3_store: S3Store) -> None:
    s3_store.put(KEY, ALL_BYTES, content_type=JPEG)

    url = s3_store.presigned_get(KEY, expires_in=60)

    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own test server
        assert response.read() == ALL_BYTES
        assert response.headers["Content-Type"] == JPEG


@pytest.mark.s3
def test_s3_presigned_get_with_a_filename_names_the_download(s3_store: S3Store) -> None:
    s3_store.put(KEY, ALL_BYTES, content_type=JPEG)

    url = s3_store.presigned_get(KEY, expires_in=60, filename='隐患 "1".jpg')

    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        disposition = response.headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"__ _1_.jpg\"; filename*=UTF-8''%E9%9A%90%E6%82%A3%20%221%22.jpg"
    )


@pytest.mark.s3
def test_s3_presigned_get_of_a_missing_key_answers_404(s3_store: S3Store) -> None:
    url = s3_store.presigned_get(KEY, expires_in=60)

    assert url is not None
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(url, timeout=10)  # noqa: S310
    raised.value.close()
    assert raised.value.code == 404


@pytest.mark.s3
def test_s3_presigned_put_url_accepts_an_http_upload(s3_store: S3Store) -> None:
    url = s3_store.presigned_put(KEY, expires_in=60, content_type=JPEG)

    assert url is not None
    request = urllib.request.Request(  # noqa: S310
        url, data=ALL_BYTES, method="PUT", headers={"Content-Type": JPEG}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
    assert s3_store.get(KEY) == ALL_BYTES


@pytest.mark.s3
def test_s3_presigned_put_url_refuses_another_content_type(s3_store: S3Store) -> None:
    url = s3_store.presigned_put(KEY, expires_in=60, content_type=JPEG)

    assert url is not None
    request = urllib.request.Request(  # noqa: S310
        url, data=b"<html>", method="PUT", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    raised.value.close()
    assert raised.value.code == 403
    assert not s3_store.exists(KEY)


@pytest.mark.s3
def test_s3_check_raises_store_unavailable_when_the_bucket_is_missing(s3_server: S3Server) -> None:
    store = S3Store.from_settings(s3_server.settings("no-such-bucket-anjian"))
    try:
        with pytest.raises(StoreUnavailable, match="does not exist"):
            store.check()
        with pytest.raises(StoreUnavailable, match="does not exist"):
            store.put(KEY, b"x", content_type=JPEG)
    finally:
        store.close()


@pytest.mark.s3
def test_s3_create_bucket_if_missing_is_idempotent(s3_store: S3Store) -> None:
    s3_store.put(KEY, b"kept", content_type=JPEG)

    s3_store.create_bucket_if_missing()

    assert s3_store.get(KEY) == b"kept"


def test_s3_presigned_urls_are_signed_for_the_public_endpoint() -> None:
    store = S3Store(
        "photos",
        endpoint_url="http://seaweedfs:8333",
        public_endpoint_url="https://files.example.cn",
        region="us-east-1",
        access_key="key",
        secret_key="secret",
    )
    try:
        get_url = store.presigned_get(KEY, expires_in=60)
        put_url = store.presigned_put(KEY, expires_in=60, content_type=JPEG)
    finally:
        store.close()

    assert get_url is not None
    assert get_url.startswith(f"https://files.example.cn/photos/{KEY}?")
    assert put_url is not None
    assert put_url.startswith(f"https://files.example.cn/photos/{KEY}?")


# A closed port on this machine: a real server that is not there, refused at once.


@pytest.fixture
def unreachable_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def unreachable_store(unreachable_endpoint: str) -> Iterator[S3Store]:
    store = S3Store(
        "photos",
        endpoint_url=unreachable_endpoint,
        region="us-east-1",
        access_key="key",
        secret_key="secret",
        connect_timeout=1,
        read_timeout=1,
        max_attempts=2,
    )
    yield store
    store.close()


def test_s3_check_raises_store_unavailable_quickly_when_unreachable(
    unreachable_store: S3Store,
) -> None:
    started = time.monotonic()

    with pytest.raises(StoreUnavailable, match="cannot talk to S3"):
        unreachable_store.check()

    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda s: s.put(KEY, b"x", content_type=JPEG), id="put-bytes"),
        pytest.param(lambda s: s.put(KEY, io.BytesIO(b"x"), content_type=JPEG), id="put-stream"),
        pytest.param(lambda s: s.get(KEY), id="get"),
        pytest.param(lambda s: s.open(KEY), id="open"),
        pytest.param(lambda s: s.exists(KEY), id="exists"),
        pytest.param(lambda s: s.size(KEY), id="size"),
        pytest.param(lambda s: s.delete(KEY), id="delete"),
        pytest.param(lambda s: list(s.iter_keys("")), id="iter_keys"),
    ],
)
def test_s3_operations_raise_store_unavailable_when_unreachable(
    unreachable_store: S3Store, operation: Callable[[S3Store], object]
) -> None:
    with pytest.raises(StoreUnavailable):
        operation(unreachable_store)


def test_s3_store_is_built_without_connecting(unreachable_endpoint: str) -> None:
    started = time.monotonic()
    store = S3Store("photos", endpoint_url=unreachable_endpoint, region="us-east-1")
    store.close()

    assert time.monotonic() - started < 1


def test_s3_settings_hide_the_secret_key() -> None:
    assert "hunter2" not in repr(S3Settings(bucket="photos", secret_key="hunter2"))


# -- local directory only -------------------------------------------------------------------------


def test_local_presigned_urls_are_none_so_the_api_streams(local_store: LocalStore) -> None:
    local_store.put(KEY, b"x", content_type=JPEG)

    assert local_store.presigned_get(KEY, expires_in=60, filename="a.jpg") is None
    assert local_store.presigned_put(KEY, expires_in=60, content_type=JPEG) is None


def test_local_keys_are_nested_paths_under_the_root(local_store: LocalStore) -> None:
    local_store.put(KEY, ALL_BYTES, content_type=JPEG)

    assert (local_store.root / "originals" / "ab" / "cd" / "abcd0123").read_bytes() == ALL_BYTES


def test_local_put_streams_without_holding_the_object_in_memory(local_store: LocalStore) -> None:
    local_store.put("warm/up", b"x", content_type=JPEG)  # first-call allocations out of the way
    stream, source = stream_of(20 * MiB)

    tracemalloc.start()
    try:
        local_store.put(KEY, stream, content_type=JPEG)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 4 * MiB
    assert local_store.size(KEY) == source.size


def test_local_put_leaves_no_temporary_files(local_store: LocalStore) -> None:
    local_store.put(KEY, ALL_BYTES, content_type=JPEG)
    local_store.put(KEY, b"again", content_type=JPEG)
    stream, _ = stream_of(4 * MiB, fail_after=MiB)
    with pytest.raises(SourceBroken):
        local_store.put(KEY, stream, content_type=JPEG)

    files = [path for path in local_store.root.rglob("*") if path.is_file()]

    assert files == [local_store.root / "originals" / "ab" / "cd" / "abcd0123"]


def test_local_iter_keys_skips_abandoned_temporary_files(local_store: LocalStore) -> None:
    local_store.put(KEY, b"x", content_type=JPEG)
    (local_store.root / "originals" / "ab" / "cd" / ".tmp-crashed").write_bytes(b"partial")

    assert [key for key, _ in local_store.iter_keys("")] == [KEY]


def test_local_store_touches_nothing_until_used(tmp_path: Path) -> None:
    LocalStore(tmp_path / "objects")

    assert not (tmp_path / "objects").exists()


def test_local_check_creates_a_missing_root(tmp_path: Path) -> None:
    LocalStore(tmp_path / "var" / "objects").check()

    assert (tmp_path / "var" / "objects").is_dir()


def test_local_check_raises_store_unavailable_when_the_root_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "objects").write_bytes(b"not a directory")

    with pytest.raises(StoreUnavailable, match="objects"):
        LocalStore(tmp_path / "objects").check()
