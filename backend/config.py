"""Configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from media import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from media.documents import DEFAULT_MAX_DOCUMENT_BYTES
from media.store import S3Settings

from . import faults


class ConfigError(Exception):
    """The environment does not describe a service that may start."""


ENVIRONMENTS = ("development", "production", "test")


@dataclass(frozen=True)
class Config:
    env: str
    data_dir: Path
    database_url: str
    redis_url: str | None
    s3: S3Settings | None
    secret_key: str
    token_ttl_seconds: int
    max_body_bytes: int
    login_max_failures: int
    login_lock_seconds: int
    demo_password: str | None
    log_level: str
    photo_max_bytes: int = DEFAULT_MAX_BYTES
    photo_max_pixels: int = DEFAULT_MAX_PIXELS
    photo_time_tolerance_seconds: int = 6 * 3600
    document_max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    media_gc_age_seconds: int = 7 * 24 * 3600
    fault: tuple[str, Path] | None = None  # tests only: see backend/faults.py
    job_lease_seconds: int = 300
    sweep_interval_seconds: int = 30
    body_timeout_seconds: int = 60  # a request body must arrive within this (backend/serving.py)
    log_format: str = "json"  # json (one object per line) or text (backend/logs.py)
    # Bearer token that GET /metrics requires; unset, /metrics is not served (404).
    metrics_token: str | None = None
    # Where each process writes its metrics for /metrics to sum (prometheus_client reads the
    # variable itself, at import; this is the same value, for readiness and docs).
    metrics_dir: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("ANJIAN_ENV", "development")
        if mode not in ENVIRONMENTS:
            raise ConfigError(f"ANJIAN_ENV must be one of {', '.join(ENVIRONMENTS)}, not {mode!r}")
        data_dir = Path(env.get("ANJIAN_DATA_DIR", "var")).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'anjian.sqlite3'}"
        database_url = _normalise_database_url(database_url)
        secret_key = env.get("SECRET_KEY", "")
        if mode == "production":
            _check_production(database_url, secret_key)
        if not secret_key:
            secret_key = _development_secret(data_dir)
        return cls(
            env=mode,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            s3=_s3_from_env(env),
            secret_key=secret_key,
            token_ttl_seconds=_int(env, "ANJIAN_TOKEN_TTL", 30 * 24 * 3600),
            max_body_bytes=_int(env, "ANJIAN_MAX_BODY_BYTES", 4 * 1024 * 1024),
            login_max_failures=_int(env, "ANJIAN_LOGIN_MAX_FAILURES", 5),
            login_lock_seconds=_int(env, "ANJIAN_LOGIN_LOCK_SECONDS", 300),
            demo_password=env.get("ANJIAN_DEMO_PASSWORD") or None,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            photo_max_bytes=_int(env, "ANJIAN_PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES),
            photo_max_pixels=_int(env, "ANJIAN_PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS),
            photo_time_tolerance_seconds=_int(env, "ANJIAN_PHOTO_TIME_TOLERANCE", 6 * 3600),
            document_max_bytes=_int(env, "ANJIAN_DOCUMENT_MAX_BYTES", DEFAULT_MAX_DOCUMENT_BYTES),
            media_gc_age_seconds=_int(env, "ANJIAN_MEDIA_GC_AGE", 7 * 24 * 3600),
            fault=_fault(env, mode),
            job_lease_seconds=_int(env, "ANJIAN_JOB_LEASE", 300),
            sweep_interval_seconds=_int(env, "ANJIAN_SWEEP_INTERVAL", 30),
            body_timeout_seconds=_int(env, "ANJIAN_BODY_TIMEOUT", 60),
            log_format=_log_format(env),
            metrics_token=_metrics_token(env),
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
        )


def _log_format(env: Mapping[str, str]) -> str:
    fmt = env.get("LOG_FORMAT", "json").lower()
    if fmt not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, not {fmt!r}")
    return fmt


METRICS_TOKEN_MIN = 24


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = env.get("ANJIAN_METRICS_TOKEN") or None
    if token is not None and len(token) < METRICS_TOKEN_MIN:
        raise ConfigError(
            f"ANJIAN_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters "
            "(it guards what the service reveals about its load and failures)"
        )
    return token


def _fault(env: Mapping[str, str], mode: str) -> tuple[str, Path] | None:
    spec = env.get("ANJIAN_FAULT")
    if not spec:
        return None
    if mode == "production":
        raise ConfigError("ANJIAN_FAULT stops the server on purpose; unset it in production")
    try:
        return faults.parse(spec)
    except ValueError as exc:
        raise ConfigError(f"ANJIAN_FAULT: {exc}") from None


def _normalise_database_url(url: str) -> str:
    # Accept the common postgres:// spellings and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _check_production(database_url: str, secret_key: str) -> None:
    if not secret_key:
        raise ConfigError("ANJIAN_ENV=production needs SECRET_KEY to be set")
    if len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")
    if not database_url.startswith("postgresql"):
        raise ConfigError("ANJIAN_ENV=production needs DATABASE_URL to point at PostgreSQL")


def _development_secret(data_dir: Path) -> str:
    """Generate once and keep in the data dir, so tokens survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _s3_from_env(env: Mapping[str, str]) -> S3Settings | None:
    bucket = env.get("S3_BUCKET")
    if not bucket:
        return None
    style = env.get("S3_ADDRESSING_STYLE", "path")
    if style not in ("path", "virtual"):
        raise ConfigError(f"S3_ADDRESSING_STYLE must be path or virtual, not {style!r}")
    return S3Settings(
        bucket=bucket,
        endpoint_url=env.get("S3_ENDPOINT_URL") or None,
        public_endpoint_url=env.get("S3_PUBLIC_ENDPOINT_URL") or None,
        region=env.get("S3_REGION") or None,
        access_key=env.get("S3_ACCESS_KEY_ID") or None,
        secret_key=env.get("S3_SECRET_ACCESS_KEY") or None,
        addressing_style=style,
    )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {value}")
    return value
