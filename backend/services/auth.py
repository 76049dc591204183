"""Sign-in, bearer tokens and devices. Tokens are random; only a keyed hash is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from backend.errors import (
    AccountLocked,
    AuthenticationRequired,
    DeviceRevoked,
    DeviceTaken,
    InvalidCredentials,
    InvalidInput,
    TokenRevoked,
)
from backend.models import AccessToken, Device, User, utcnow

from . import audit

MIN_PASSWORD_LENGTH = 10
MAX_LOCK = timedelta(hours=1)
# Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


@dataclass(frozen=True)
class LoginPolicy:
    secret_key: str
    token_ttl: timedelta
    max_failures: int
    lock: timedelta


@dataclass(frozen=True)
class Issued:
    token: str
    access: AccessToken
    user: User


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            errors={"password": [f"Shorter than {MIN_PASSWORD_LENGTH} characters."]},
        )
    return generate_password_hash(password, method="scrypt")


def token_hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def login(
    session: Session,
    policy: LoginPolicy,
    *,
    username: str,
    password: str,
    device_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Issued:
    now = now or utcnow()
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise InvalidCredentials("Wrong username or password.")
    if user.locked_until and user.locked_until > now:
        raise _locked(user.locked_until, now)
    if not check_password_hash(user.password_hash, password) or not user.active:
        _count_failure(user, policy, now)
        raise InvalidCredentials("Wrong username or password.")
    user.failed_logins = 0
    user.locked_until = None
    device = _device_for(session, user, device_id, now) if device_id else None
    token = "aj_" + secrets.token_urlsafe(32)
    access = AccessToken(
        token_hash=token_hash(policy.secret_key, token),
        user_id=user.id,
        device_id=device.id if device else None,
        created_at=now,
        expires_at=now + policy.token_ttl,
    )
    session.add(access)
    session.flush()
    return Issued(token=token, access=access, user=user)


def _count_failure(user: User, policy: LoginPolicy, now: datetime) -> None:
    user.failed_logins += 1
    over = user.failed_logins - policy.max_failures
    if over >= 0:
        # Each further failure doubles the wait, up to an hour.
        user.locked_until = now + min(policy.lock * (2**over), MAX_LOCK)


def _locked(until: datetime, now: datetime) -> AccountLocked:
    seconds = max(1, int((until - now).total_seconds()) + 1)
    return AccountLocked(
        f"Too many failed sign-ins. Try again in {seconds} seconds, or ask an admin to reset "
        "the password.",
        headers={"Retry-After": str(seconds)},
    )


def _device_for(session: Session, user: User, device_id: uuid.UUID, now: datetime) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, user_id=user.id, registered_at=now)
        session.add(device)
        session.flush()
        audit.record(
            session, actor=user, action="device.register", entity_type="device", entity_id=device.id
        )
    elif device.user_id != user.id:
        raise DeviceTaken(
            "This device_id is registered to another user. Generate a new device id for this "
            "user on the tablet.",
            errors={"device_id": ["Registered to another user."]},
        )
    if device.revoked_at is not None:
        raise DeviceRevoked(
            "This device was revoked by an administrator. Ask them about it before using it again."
        )
    device.last_seen_at = now
    return device


def authenticate(
    session: Session, secret_key: str, token: str, *, now: datetime | None = None
) -> AccessToken:
    now = now or utcnow()
    access = session.scalars(
        select(AccessToken).where(AccessToken.token_hash == token_hash(secret_key, token))
    ).one_or_none()
    if access is None:
        raise AuthenticationRequired("The access token is not valid. Sign in again.")
    if access.revoked_at is not None:
        raise TokenRevoked("The access token was revoked. Sign in again.")
    if access.expires_at <= now:
        raise AuthenticationRequired("The access token has expired. Sign in again.")
    if not access.user.active:
        raise TokenRevoked("This account is disabled. Ask an admin.")
    return access


def revoke_token(session: Session, access: AccessToken, *, now: datetime | None = None) -> None:
    access.revoked_at = now or utcnow()
    audit.record(
        session, actor=access.user, action="token.revoke", entity_type="token", entity_id=access.id
    )


def revoke_user_tokens(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_device(
    session: Session, actor: User, device: Device, *, reason: str, now: datetime | None = None
) -> Device:
    now = now or utcnow()
    if device.revoked_at is None:
        device.revoked_at = now
    session.execute(
        update(AccessToken)
        .where(AccessToken.device_id == device.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        session,
        actor=actor,
        action="device.revoke",
        entity_type="device",
        entity_id=device.id,
        reason=reason,
    )
    session.flush()
    return device
