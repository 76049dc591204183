"""Object storage for photo evidence: one interface, an S3 and a local-directory implementation.

Keys look like ``originals/ab/cd/<sha256>``. Both stores accept the same keys and raise the same
errors, so code above this module never needs to know which one it talks to.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, cast
from urllib.parse import quote

import boto3.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

__all__ = [
    "LocalStore",
    "ObjectNotFound",
    "ObjectStore",
    "S3Settings",
    "S3Store",
    "StoreError",
    "StoreUnavailable",
    "store_from_settings",
    "validate_key",
]

AddressingStyle = Literal["auto", "path", "virtual"]

_CHUNK = 1024 * 1024
_MAX_KEY_BYTES = 1024
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the SigV4 limit


# -- errors ---------------------------------------------------------------------------------------


class StoreError(Exception):
    """The object store failed to do what was asked."""


class ObjectNotFound(StoreError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no object is stored under key {self.key!r}"


class StoreUnavailable(StoreError):
    """The store cannot be used right now (unreachable, timing out, failing or misconfigured)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"object store unavailable: {self.reason}"


# -- interface ------------------------------------------------------------------------------------


class ObjectStore(Protocol):
    """Where photo bytes live. Keys are validated by :func:`validate_key` in every method."""

    def put(
        self, key: str, data: BinaryIO | bytes, *, content_type: str, sha256: str | None = None
    ) -> None:
        """Store ``data`` under ``key``, replacing any object there; never leaves a partial one.

        A stream is read in chunks, never whole. An exception raised by the stream itself
        propagates unchanged; failures of the store raise :class:`StoreError`. ``sha256``, the
        hex SHA-256 of ``data`` (bytes) if the caller has computed it, lets the store check the
        bytes against it rather than hash them again (S3; the local store has no transfer to
        protect and ignores it).
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the object's bytes; :class:`ObjectNotFound` if there is none."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Return a readable stream over the object (the caller closes it)."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or ``None`` if there is no object under the key."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Yield ``(key, last_modified)`` for every key starting with ``prefix``, in no set order.

        ``last_modified`` is timezone-aware (UTC).
        """
        ...

    def presigned_get(
        self, key: str, *, expires_in: int, filename: str | None = None
    ) -> str | None:
        """A URL that downloads the object for ``expires_in`` seconds, or ``None`` when the
        caller must stream the object itself. ``filename`` names the download."""
        ...

    def presigned_put(self, key: str, *, expires_in: int, content_type: str) -> str | None:
        """A URL that accepts an HTTP PUT of the object with exactly this Content-Type, or
        ``None`` when uploads must go through the API."""
        ...

    def check(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store can be used; fast enough for /readyz."""
        ...


# -- keys -----------------------------------------------------------------------------------------


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``ValueError``.

    A key is ``/``-separated segments; none may be empty or start with a dot (which rules out
    ``.`` and ``..`` and keeps the local store's temporary files out of the key space).
    """
    if not key:
        raise ValueError("object key must not be empty")
    if len(key.encode()) > _MAX_KEY_BYTES:
        raise ValueError(f"object key is longer than {_MAX_KEY_BYTES} bytes")
    _refuse_unsafe_characters(key, what="object key")
    if key.startswith("/"):
        raise ValueError(f"object key {key!r} must be relative, not start with '/'")
    for segment in key.split("/"):
        _check_segment(segment, key)
    return key


def _validate_prefix(prefix: str) -> str:
    """A prefix is a key's leading part: whole segments, then maybe part of one."""
    head, _, last = prefix.rpartition("/")
    if head or prefix.startswith("/"):
        validate_key(head)
    _refuse_unsafe_characters(last, what="key prefix")
    if last.startswith("."):
        raise ValueError(f"key prefix {prefix!r} has a segment starting with a dot")
    return prefix


def _refuse_unsafe_characters(text: str, *, what: str) -> None:
    if "\\" in text:
        raise ValueError(f"{what} {text!r} must not contain a backslash")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise ValueError(f"{what} {text!r} must not contain control characters")


def _check_segment(segment: str, key: str) -> None:
    if not segment:
        raise ValueError(f"object key {key!r} has an empty segment")
    if segment.startswith("."):
        raise ValueError(f"object key {key!r} has a segment starting with a dot")


def _check_expiry(expires_in: int) -> None:
    if not 1 <= expires_in <= _MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_in must be between 1 and {_MAX_PRESIGN_SECONDS} seconds")


def _content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    fallback = "".join(
        char if 0x20 <= ord(char) < 0x7F and char not in '"\\' else "_" for char in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- local directory ------------------------------------------------------------------------------


class LocalStore:
    """Objects as files under ``root``: key ``a/b/c`` is the file ``root/a/b/c``.

    The content type is not kept: whoever serves a local object knows it from its record.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put(
        self, key: str, data: BinaryIO | bytes, *, content_type: str, sha256: str | None = None
    ) -> None:
        path = self._path(key)
        with _os_errors():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Same directory as the target, so os.replace is an atomic rename.
            fd, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with open(fd, "wb") as temp:
                _copy_to_file(data, temp)
                with _os_errors():
                    temp.flush()
                    os.fsync(temp.fileno())
            with _os_errors():
                os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        with _os_errors():
            _fsync_directory(path.parent)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        with _os_errors(key):
            return path.read_bytes()

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        with _os_errors(key):
            return open(path, "rb")  # the caller owns and closes the stream

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            with _os_errors(key):
                if not path.is_file():
                    return None
                return path.stat().st_size
        except ObjectNotFound:
            return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            with _os_errors(key):
                path.unlink()
        except ObjectNotFound:
            pass

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        head = _validate_prefix(prefix).rpartition("/")[0]
        base = self.root.joinpath(*head.split("/")) if head else self.root
        return self._walk(base, head, prefix)

    def _walk(self, directory: Path, dir_key: str, prefix: str) -> Iterator[tuple[str, datetime]]:
        try:
            with _os_errors(dir_key), os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except ObjectNotFound:
            return  # nothing stored there (yet), or it vanished while we walked
        for entry in entries:
            if entry.name.startswith("."):
                continue  # temporary files of puts in progress or abandoned
            key = f"{dir_key}/{entry.name}" if dir_key else entry.name
            if entry.is_dir(follow_symlinks=False):
                if f"{key}/".startswith(prefix) or prefix.startswith(f"{key}/"):
                    yield from self._walk(Path(entry.path), key, prefix)
            elif key.startswith(prefix) and entry.is_file():
                try:
                    with _os_errors(key):
                        modified = entry.stat().st_mtime
                except ObjectNotFound:
                    continue  # deleted while we walked
                yield key, datetime.fromtimestamp(modified, UTC)

    def presigned_get(
        self, key: str, *, expires_in: int, filename: str | None = None
    ) -> str | None:
        validate_key(key)
        _check_expiry(expires_in)
        return None

    def presigned_put(self, key: str, *, expires_in: int, content_type: str) -> str | None:
        validate_key(key)
        _check_expiry(expires_in)
        return None

    def check(self) -> None:
        """Make sure ``root`` is a writable directory, creating it if it is missing."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot use {self.root} as the object directory: {exc}"
            ) from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"object directory {self.root} is not writable")


@contextmanager
def _os_errors(key: str | None = None) -> Iterator[None]:
    """The local store's error mapping: missing paths are missing objects, the rest is the
    store being unusable (disk full, permissions, a path component that is a file)."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        if key is None:
            raise StoreUnavailable(str(exc)) from exc
        raise ObjectNotFound(key) from exc
    except OSError as exc:
        raise StoreUnavailable(str(exc)) from exc


def _copy_to_file(data: BinaryIO | bytes, target: BinaryIO) -> None:
    if isinstance(data, bytes):
        with _os_errors():
            target.write(data)
        return
    while chunk := data.read(_CHUNK):  # errors of the source propagate as they are
        with _os_errors():
            target.write(chunk)


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself, not only the file's contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- S3 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3-compatible store. ``public_endpoint_url``, if set, is the address
    clients use, and presigned URLs are signed for it."""

    bucket: str
    endpoint_url: str | None = None
    public_endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    addressing_style: AddressingStyle = "path"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3


def store_from_settings(s3: S3Settings | None, *, local_root: Path) -> ObjectStore:
    """The S3 store if S3 is configured, else the local directory (the embedded default)."""
    if s3 is None:
        return LocalStore(local_root)
    return S3Store.from_settings(s3)


class S3Store:
    """Objects in one bucket of an S3-compatible store, through boto3.

    Building the store builds clients but never connects; :meth:`create_bucket_if_missing` is
    for start-up, :meth:`check` for readiness probes. Call :meth:`close` when done.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: AddressingStyle = "path",
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url

        def client(
            endpoint: str | None,
            connect: float,
            read: float,
            attempts: int,
            *,
            sign_payload: bool = True,
        ) -> S3Client:
            config = Config(
                signature_version="s3v4",
                s3={"addressing_style": addressing_style, "payload_signing_enabled": sign_payload},
                connect_timeout=connect,
                read_timeout=read,
                retries={"mode": "standard", "total_max_attempts": attempts},
                # boto3 >= 1.36 sends CRC checksums by default, which several S3-compatible
                # stores reject; checksum only where the API demands it.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            return _new_client(
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=config,
            )

        self._client = client(endpoint_url, connect_timeout, read_timeout, max_attempts)
        # For puts whose SHA-256 the caller knows: SigV4 over plain HTTP would hash the body
        # again to sign it (X-Amz-Content-SHA256); instead the body goes unsigned with the
        # known hash as its checksum (x-amz-checksum-sha256, a signed header), which the
        # store verifies before it keeps anything.
        self._checked_client = client(
            endpoint_url, connect_timeout, read_timeout, max_attempts, sign_payload=False
        )
        # Readiness probes must answer fast: short timeouts, at most one retry. Built on first
        # use, as most stores (those in workers, in tests) are never probed.
        self._make_probe = partial(
            client,
            endpoint_url,
            min(connect_timeout, 1.0),
            min(read_timeout, 2.0),
            min(max_attempts, 2),
        )
        self._probe: S3Client | None = None
        self._probe_lock = threading.Lock()
        # SigV4 signs the host, so URLs handed to clients are signed for the address they use.
        self._presigner = (
            client(public_endpoint_url, connect_timeout, read_timeout, max_attempts)
            if public_endpoint_url
            else self._client
        )
        self._transfer = TransferConfig(
            multipart_threshold=16 * _CHUNK,
            multipart_chunksize=8 * _CHUNK,
            max_concurrency=4,
        )
        # What a non-seekable stream may buffer: 4 chunks, not the default 10.
        self._transfer.max_in_memory_upload_chunks = 4

    @classmethod
    def from_settings(cls, settings: S3Settings) -> S3Store:
        return cls(
            settings.bucket,
            endpoint_url=settings.endpoint_url,
            public_endpoint_url=settings.public_endpoint_url,
            region=settings.region,
            access_key=settings.access_key,
            secret_key=settings.secret_key,
            addressing_style=settings.addressing_style,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_attempts=settings.max_attempts,
        )

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    def close(self) -> None:
        """Release the clients' connection pools."""
        clients = (self._client, self._checked_client, self._presigner, self._probe)
        for client in {id(c): c for c in clients if c is not None}.values():
            client.close()

    def _errors(self, key: str | None = None) -> AbstractContextManager[None]:
        return _s3_errors(self.bucket, key)

    def put(
        self, key: str, data: BinaryIO | bytes, *, content_type: str, sha256: str | None = None
    ) -> None:
        validate_key(key)
        with self._errors():
            if isinstance(data, bytes) and sha256 is not None:
                # The store verifies the bytes against the hash (BadDigest otherwise), so the
                # signature need not cover a second SHA-256 of the same bytes.
                checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
                self._checked_client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ContentType=content_type,
                    ChecksumSHA256=checksum,
                )
            elif isinstance(data, bytes):
                self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
                )
            else:
                # Multipart above the threshold; S3 publishes the object only once complete
                # and s3transfer aborts the upload on failure, so no partial object appears.
                self._client.upload_fileobj(
                    data,
                    self.bucket,
                    key,
                    ExtraArgs={"ContentType": content_type},
                    Config=self._transfer,
                )

    def get(self, key: str) -> bytes:
        validate_key(key)
        with self._errors(key):
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with closing(body):
                return body.read()

    def open(self, key: str) -> BinaryIO:
        validate_key(key)
        with self._errors(key):
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return io.BufferedReader(_S3Body(body, self.bucket, key), buffer_size=_CHUNK)

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        validate_key(key)
        try:
            with self._errors(key):
                return self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ObjectNotFound:
            return None

    def delete(self, key: str) -> None:
        validate_key(key)
        with self._errors():
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        return self._list(_validate_prefix(prefix))

    def _list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"], item["LastModified"].astimezone(UTC)

    def presigned_get(
        self, key: str, *, expires_in: int, filename: str | None = None
    ) -> str | None:
        validate_key(key)
        _check_expiry(expires_in)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = _content_disposition(filename)
        with self._errors():  # signing is local; only missing credentials can fail here
            return self._presigner.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )

    def presigned_put(self, key: str, *, expires_in: int, content_type: str) -> str | None:
        validate_key(key)
        _check_expiry(expires_in)
        params = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        with self._errors():
            return self._presigner.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires_in
            )

    def check(self) -> None:
        try:
            with self._errors():
                self._probe_client().head_bucket(Bucket=self.bucket)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def _probe_client(self) -> S3Client:
        with self._probe_lock:
            if self._probe is None:
                self._probe = self._make_probe()
            return self._probe

    def create_bucket_if_missing(self) -> None:
        """Create the bucket unless it exists; safe to call from every process at start-up."""
        with self._errors():
            try:
                self._client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _http_status(exc) != 404:
                    raise
            region = self._client.meta.region_name
            try:
                if region and region != "us-east-1":
                    location = cast("BucketLocationConstraintType", region)
                    self._client.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={"LocationConstraint": location},
                    )
                else:
                    self._client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:
                # Another process won the race.
                if _error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise


_client_lock = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def _new_client(**options: Any) -> S3Client:
    """A client of one shared session: making a session loads the service models (~0.1 s), and
    sessions are not thread-safe, hence the lock."""
    with _client_lock:
        return _session().client("s3", **options)


class _S3Body(io.RawIOBase):
    """A response body as a raw stream whose read errors are store errors."""

    def __init__(self, body: StreamingBody, bucket: str, key: str) -> None:
        super().__init__()
        self._body = body
        self._bucket = bucket
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with _s3_errors(self._bucket, self._key):
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
_BUSY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})
_CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)


@contextmanager
def _s3_errors(bucket: str, key: str | None) -> Iterator[None]:
    """The one place botocore errors become store errors. ``key`` is given for reads of one
    object, where "not found" means the object is missing."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise _store_error(exc, bucket, key) from exc


def _store_error(exc: ClientError | BotoCoreError, bucket: str, key: str | None) -> StoreError:
    if isinstance(exc, ClientError):
        code, status = _error_code(exc), _http_status(exc)
        if key is not None and code in _NOT_FOUND_CODES:
            return ObjectNotFound(key)
        if code == "NoSuchBucket" or status == 404:
            return StoreUnavailable(f"bucket {bucket!r} does not exist")
        if status >= 500 or code in _BUSY_CODES:
            return StoreUnavailable(f"S3 answered {status} {code}")
        if status == 403:
            return StoreUnavailable(f"S3 refused access to bucket {bucket!r} ({code})")
        message = exc.response.get("Error", {}).get("Message", "")
        return StoreError(f"S3 refused the request: {status} {code} {message}".rstrip())
    if isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError):
        return StoreUnavailable(f"cannot talk to S3: {exc}")
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return StoreUnavailable(f"no usable S3 credentials: {exc}")
    return StoreError(f"S3 request failed: {exc}")


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _http_status(exc: ClientError) -> int:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
