"""Evidence bundles as reproducible ZIP files, streamed from the object store into it.

A bundle is a list of :class:`Entry` (a name a person reads, and where the bytes are: an object
key or bytes in hand, with their SHA-256 and size known in advance). :func:`write_zip` packs
them in name order, stored (JPEG does not deflate), with one fixed timestamp, fixed attributes
and UTF-8 names, so the same entries always give the same bytes and the ZIP's SHA-256 names
its content. It pulls the bytes through a small buffer straight into ``store.put`` (multipart
on S3), so memory stays bounded whatever the size; zip64 starts by itself past 4 GiB. A source
that fails, or whose bytes do not hash to what was promised, fails the put: the local store
drops its temporary file and S3 aborts the multipart upload, so no partial bundle appears.

:func:`manifest_bytes` and :func:`sha256sums` write the two files that make a bundle checkable:
``manifest.json`` for this project's ``verify`` and ``SHA256SUMS`` for ``sha256sum -c``.
:func:`verify_zip` checks a bundle against both.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

from media.store import ObjectNotFound, ObjectStore

__all__ = [
    "MANIFEST",
    "SHA256SUMS",
    "BundleSourceChanged",
    "Entry",
    "Mismatch",
    "Written",
    "manifest_bytes",
    "sha256sums",
    "verify_zip",
    "write_zip",
]

MANIFEST = "manifest.json"
SHA256SUMS = "SHA256SUMS"
ZIP_CONTENT_TYPE = "application/zip"
DEFAULT_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP can record
_CHUNK = 1024 * 1024
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--, as Unix (create_system 3) records it

Progress = Callable[[int, int], None]
"""Called with (bytes of sources packed so far, bytes of sources in all)."""


class BundleSourceChanged(Exception):
    """An entry's bytes are missing or differ from what the bundle was planned with."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class Entry:
    """One file of a bundle: its name inside the ZIP and where its bytes come from.

    Exactly one of ``key`` (an object in the store) and ``data`` (bytes in hand) is set.
    ``meta`` goes into the manifest as it is (the record it came from, EXIF time and place).
    """

    name: str
    sha256: str
    size: int
    key: str | None = None
    data: bytes | None = field(default=None, repr=False)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.key is None) == (self.data is None):
            raise ValueError(f"entry {self.name!r} needs exactly one of key and data")
        _check_name(self.name)

    @classmethod
    def of_bytes(cls, name: str, data: bytes, **meta: Any) -> Entry:
        return cls(name, hashlib.sha256(data).hexdigest(), len(data), data=data, meta=meta)


@dataclass(frozen=True)
class Written:
    """What :func:`write_zip` stored: the ZIP's SHA-256 and size."""

    sha256: str
    size: int


def _check_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{name!r} is not a relative file name inside a bundle")


# -- writing --------------------------------------------------------------------------------------


def write_zip(
    store: ObjectStore,
    key: str,
    entries: Iterable[Entry],
    *,
    date_time: tuple[int, int, int, int, int, int] = DEFAULT_TIME,
    progress: Progress | None = None,
    tail: Callable[[], Iterable[Entry]] | None = None,
) -> Written:
    """Pack ``entries`` (sorted by name) into one stored ZIP under ``key``, then the entries
    ``tail()`` returns (sorted by name too): files made while the others stream, such as a
    summary being rendered and the manifest that lists it. The order stays fixed: the same
    entries and the same tail give the same bytes.

    Raises :class:`BundleSourceChanged` if a source object is missing or its bytes differ from
    the entry's SHA-256 or size; store failures raise the store's errors. Either way nothing is
    left under ``key``.
    """
    ordered = _sorted(entries)
    stream = _ZipStream(store, ordered, date_time, progress, tail)
    store.put(key, cast(BinaryIO, stream), content_type=ZIP_CONTENT_TYPE)
    if not stream.finished:  # a store that stopped reading early must not pass for a bundle
        raise BundleSourceChanged(key, "the store stopped reading before the end of the ZIP")
    return Written(stream.digest.hexdigest(), stream.size)


def _sorted(entries: Iterable[Entry], before: Iterable[Entry] = ()) -> list[Entry]:
    ordered = sorted(entries, key=lambda entry: entry.name.encode())
    names = [entry.name for entry in [*before, *ordered]]
    if len(set(names)) != len(names):
        raise ValueError("two bundle entries have the same name")
    return ordered


_DONE = object()


class _Sink:
    """What zipfile writes into: a buffer the reader drains, hashed and counted on the way."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass


class _ZipStream(io.RawIOBase):
    """A read-only stream of the ZIP's bytes, produced as they are read (no thread, no pipe)."""

    def __init__(
        self,
        store: ObjectStore,
        entries: list[Entry],
        date_time: tuple[int, int, int, int, int, int],
        progress: Progress | None,
        tail: Callable[[], Iterable[Entry]] | None = None,
    ) -> None:
        super().__init__()
        self._sink = _Sink()
        self._steps = _produce(self._sink, store, entries, date_time, progress, tail)
        self.finished = False
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all of ``size`` but at the end): one copy, from the buffer."""
        if size is None or size < 0:
            size = 1 << 62
        self._fill(size)
        buffer = self._sink.buffer
        with memoryview(buffer) as view:
            chunk = bytes(view[:size])
        del buffer[: len(chunk)]
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        return len(chunk)

    def _fill(self, wanted: int) -> None:
        # Fill the whole request: S3 parts below 5 MiB (but the last) are refused.
        while len(self._sink.buffer) < wanted and not self.finished:
            if next(self._steps, _DONE) is _DONE:
                self.finished = True


def _produce(
    sink: _Sink,
    store: ObjectStore,
    entries: list[Entry],
    date_time: tuple[int, int, int, int, int, int],
    progress: Progress | None,
    tail: Callable[[], Iterable[Entry]] | None,
) -> Iterator[None]:
    """Write the ZIP into ``sink`` a chunk at a time, yielding after each chunk."""
    counted = [0, sum(entry.size for entry in entries)]  # done, total
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            yield from _pack(archive, store, entry, date_time, progress, counted)
        if tail is not None:
            more = _sorted(tail(), before=entries)
            counted[1] += sum(entry.size for entry in more)
            for entry in more:
                yield from _pack(archive, store, entry, date_time, progress, counted)
    yield


def _pack(
    archive: zipfile.ZipFile,
    store: ObjectStore,
    entry: Entry,
    date_time: tuple[int, int, int, int, int, int],
    progress: Progress | None,
    counted: list[int],
) -> Iterator[None]:
    digest, size = hashlib.sha256(), 0
    with archive.open(_info(entry, date_time), "w") as target:
        for chunk in _chunks(store, entry):
            digest.update(chunk)
            size += len(chunk)
            if size > entry.size:
                raise BundleSourceChanged(entry.name, "more bytes than planned")
            target.write(chunk)
            counted[0] += len(chunk)
            if progress is not None:
                progress(counted[0], counted[1])
            yield
        if (digest.hexdigest(), size) != (entry.sha256, entry.size):
            raise BundleSourceChanged(
                entry.name,
                f"stored bytes hash to {digest.hexdigest()} ({size} bytes), "
                f"not the planned {entry.sha256} ({entry.size} bytes)",
            )
    yield


def _info(entry: Entry, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.name, date_time=date_time)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = _FILE_MODE
    info.file_size = entry.size  # known in advance: zipfile picks zip64 from it
    return info


def _chunks(store: ObjectStore, entry: Entry) -> Iterator[bytes]:
    if entry.data is not None:
        for start in range(0, len(entry.data), _CHUNK):
            yield entry.data[start : start + _CHUNK]
        return
    assert entry.key is not None
    try:
        source: BinaryIO = store.open(entry.key)
    except ObjectNotFound:
        raise BundleSourceChanged(entry.name, f"no object under {entry.key}") from None
    with source:
        while chunk := source.read(_CHUNK):
            yield chunk


# -- manifest and checksums -----------------------------------------------------------------------


def manifest_bytes(entries: Iterable[Entry], about: Mapping[str, Any]) -> bytes:
    """``manifest.json``: what the bundle is about, then every file with its SHA-256, size and
    ``meta``, in name order. Canonical JSON (sorted keys, UTF-8, fixed layout)."""
    files = [
        {"path": e.name, "sha256": e.sha256, "size": e.size, **dict(e.meta)}
        for e in sorted(entries, key=lambda entry: entry.name.encode())
    ]
    body = {"format": "anjian-bundle/1", **dict(about), "files": files}
    return (json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def sha256sums(entries: Iterable[Entry]) -> bytes:
    """``SHA256SUMS`` as GNU ``sha256sum`` writes it (``<hex>  <name>``), in name order."""
    lines = []
    for entry in sorted(entries, key=lambda e: e.name.encode()):
        if "\n" in entry.name:
            raise ValueError(f"{entry.name!r}: sha256sum cannot list a name with a newline")
        lines.append(f"{entry.sha256}  {entry.name}\n")
    return "".join(lines).encode()


# -- verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A file of a bundle that is not what its manifest or SHA256SUMS says."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def verify_zip(file: str | IO[bytes]) -> list[Mismatch]:
    """Check every file of a bundle against ``manifest.json`` and ``SHA256SUMS``.

    Returns the files that differ (changed, missing, or present but listed nowhere); an empty
    list means every byte is as the bundle was built.
    """
    problems: list[Mismatch] = []
    with zipfile.ZipFile(file) as archive:
        actual = {info.filename: _hash_member(archive, info) for info in archive.infolist()}
        sums = _parse_sums(_member(archive, SHA256SUMS, problems), problems)
        listed = _parse_manifest(_member(archive, MANIFEST, problems), problems)
    expected: dict[str, tuple[str, str]] = {}
    for name, digest in sums.items():
        expected.setdefault(name, (digest, SHA256SUMS))
    for name, digest in listed.items():
        if name in sums and sums[name] != digest:
            problems.append(Mismatch(name, "manifest.json and SHA256SUMS disagree"))
        expected.setdefault(name, (digest, MANIFEST))
    for name, (digest, source) in sorted(expected.items()):
        if name not in actual:
            problems.append(Mismatch(name, f"listed in {source} but missing from the bundle"))
        elif actual[name] != digest:
            problems.append(Mismatch(name, f"SHA-256 is {actual[name]}, {source} says {digest}"))
    for name in sorted(set(actual) - set(expected) - {SHA256SUMS}):
        problems.append(Mismatch(name, "in the bundle but listed in neither manifest"))
    return problems


def _hash_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                digest.update(chunk)
    except zipfile.BadZipFile:  # a CRC mismatch: the bytes changed after the ZIP was written
        return "(unreadable: CRC-32 mismatch)"
    return digest.hexdigest()


def _member(archive: zipfile.ZipFile, name: str, problems: list[Mismatch]) -> bytes | None:
    try:
        return archive.read(name)
    except KeyError:
        problems.append(Mismatch(name, "missing from the bundle"))
    except zipfile.BadZipFile:
        problems.append(Mismatch(name, "unreadable (CRC-32 mismatch): it was changed"))
    return None


def _parse_sums(data: bytes | None, problems: list[Mismatch]) -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            problems.append(
                Mismatch(SHA256SUMS, f"a line that is not '<sha256>  <name>': {line!r}")
            )
            continue
        sums[name] = digest
    return sums


def _parse_manifest(data: bytes | None, problems: list[Mismatch]) -> dict[str, str]:
    if data is None:
        return {}
    try:
        files = json.loads(data)["files"]
        return {str(item["path"]): str(item["sha256"]) for item in files}
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(Mismatch(MANIFEST, f"not a bundle manifest ({exc})"))
        return {}
