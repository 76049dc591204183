"""Sign-in, bearer tokens and devices. Tokens are random; only a keyed hash is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from backend import db
from backend.errors import (
    AccountLocked,
    AuthenticationRequired,
    DeviceRevoked,
    DeviceTaken,
    DomainError,
    InvalidCredentials,
    InvalidInput,
    TokenRevoked,
    WrongPassword,
)
from backend.models import AccessToken, Device, User, utcnow
from backend.models.organisation import LoginFailure

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


def hash_password(password: str, *, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            errors={field: [f"Shorter than {MIN_PASSWORD_LENGTH} characters."]},
        )
    return generate_password_hash(password, method="scrypt")


def token_hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def login(
    session: Session,
    attempts: sessionmaker[Session],
    policy: LoginPolicy,
    *,
    username: str,
    password: str,
    device_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Issued:
    """Check the password (see `_verify`), then issue a token in the caller's `session`."""
    now = now or utcnow()
    user_id = _verify(attempts, policy, username, password, now, device_id=device_id)
    user = session.get_one(User, user_id)
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
    audit.record(
        session,
        actor=user,
        action="auth.login",
        entity_type="user",
        entity_id=user.id,
        data={"device_id": device.id if device else None},
    )
    return Issued(token=token, access=access, user=user)


def change_password(
    attempts: sessionmaker[Session],
    policy: LoginPolicy,
    access: AccessToken,
    *,
    current_password: str,
    new_password: str,
    now: datetime | None = None,
) -> None:
    """The signed-in user's own change: the current password is checked and counted like a
    sign-in, and every other token of the user is revoked. Commits in its own transaction,
    like the failure it may record."""
    now = now or utcnow()
    new_hash = hash_password(new_password, field="new_password")

    def apply(s: Session, user: User) -> None:
        user.password_hash = new_hash
        user.password_changed_at = now
        revoke_user_tokens(s, user.id, now, keep=access.id)
        audit.record(
            s, actor=user, action="user.password_change", entity_type="user", entity_id=user.id
        )

    _verify(
        attempts,
        policy,
        access.user.username,
        current_password,
        now,
        device_id=access.device_id,
        then=apply,
        wrong=WrongPassword(
            "The current password is wrong. Repeated failures lock the account for a while.",
            errors={"current_password": ["Wrong password."]},
        ),
    )


def _verify(
    attempts: sessionmaker[Session],
    policy: LoginPolicy,
    username: str,
    password: str,
    now: datetime,
    *,
    device_id: uuid.UUID | None = None,
    then: Callable[[Session, User], None] | None = None,
    wrong: DomainError | None = None,
) -> uuid.UUID:
    """The user's id when the password is right; else raise `wrong` (InvalidCredentials).

    Runs in a short transaction of its own that holds the username's failure row locked while
    the password is checked: parallel guesses queue up, and a failure stays counted although
    the request that made it fails. `then` runs inside that transaction on success."""
    wrong = wrong or InvalidCredentials("Wrong username or password.")
    if "\x00" in username:  # never a username, and PostgreSQL refuses to compare it
        check_password_hash(_DUMMY_HASH, password)
        raise wrong
    with attempts() as s, s.begin():
        user = _check(s, policy, _failure_key(s, username, device_id), username, password, now)
        if user is not None and then is not None:
            then(s, user)
        user_id = user.id if user else None
    if user_id is None:
        raise wrong
    return user_id


def _failure_key(s: Session, username: str, device_id: uuid.UUID | None) -> str:
    """Where this attempt's failures count (docs/decision-login-lockout.md): a device
    registered to this user and not revoked has a counter of its own, so guesses from anywhere
    else, which anyone can make, never lock the user out of their own tablet."""
    if device_id is not None:
        known = s.scalar(
            select(Device.id)
            .join(User, Device.user_id == User.id)
            .where(Device.id == device_id, Device.revoked_at.is_(None), User.username == username)
        )
        if known is not None:
            return device_failure_key(device_id)
    return username


def device_failure_key(device_id: uuid.UUID) -> str:
    return f"device:{device_id}"


def _check(
    s: Session, policy: LoginPolicy, key: str, username: str, password: str, now: datetime
) -> User | None:
    row = _locked_failures(s, key)
    if row.locked_until and row.locked_until > now:
        raise _locked(row.locked_until, now)
    user = s.scalars(select(User).where(User.username == username)).one_or_none()
    # An unknown username costs the same hash check as a known one.
    right = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if right and user is not None and user.active:
        row.failures, row.locked_until = 0, None
        return user
    _count_failure(s, row, policy, now)
    return None


def _locked_failures(s: Session, username: str) -> LoginFailure:
    """The username's failure row, created if missing and locked (FOR UPDATE on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already admits one writer at a time)."""
    query = select(LoginFailure).where(LoginFailure.username == username).with_for_update()
    while True:
        s.execute(
            db.insert(s, LoginFailure)
            .values(username=username, failures=0)
            .on_conflict_do_nothing(index_elements=["username"])
        )
        row = s.scalars(query).one_or_none()
        if row is not None:
            return row
        # Housekeeping deleted the row between the two statements (PostgreSQL, READ
        # COMMITTED): insert it again.


def _count_failure(s: Session, row: LoginFailure, policy: LoginPolicy, now: datetime) -> None:
    row.failures += 1
    row.last_failure_at = now
    audit.record(s, actor=None, action="auth.failure", entity_type="login", entity_id=row.username)
    over = row.failures - policy.max_failures
    if over >= 0:
        # Each further failure doubles the wait, up to an hour.
        row.locked_until = now + min(policy.lock * (2 ** min(over, 20)), MAX_LOCK)
        audit.record(
            s,
            actor=None,
            action="auth.lock",
            entity_type="login",
            entity_id=row.username,
            data={"failures": row.failures, "until": row.locked_until.isoformat()},
        )


def clear_failures(session: Session, username: str) -> bool:
    """Lift the user's lock-outs, by name and on their devices: an admin's password reset, or
    `anjian users unlock` (the one way to free the top admin early). False: nothing was locked."""
    devices = select(Device.id).join(User, Device.user_id == User.id)
    keys = [username] + [
        device_failure_key(d) for d in session.scalars(devices.where(User.username == username))
    ]
    result = session.execute(
        update(LoginFailure)
        .where(LoginFailure.username.in_(keys), LoginFailure.failures > 0)
        .values(failures=0, locked_until=None)
    )
    return bool(getattr(result, "rowcount", 0))


def _locked(until: datetime, now: datetime) -> AccountLocked:
    seconds = max(1, int((until - now).total_seconds()) + 1)
    return AccountLocked(
        f"Too many failed sign-ins. Try again in {seconds} seconds, or ask an admin to reset "
        "the password.",
        headers={"Retry-After": str(seconds)},
    )


def _device_for(session: Session, user: User, device_id: uuid.UUID, now: datetime) -> Device:
    device = session.get(Device, device_id) or _register(session, user, device_id, now)
    if device.user_id != user.id:
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


def _register(session: Session, user: User, device_id: uuid.UUID, now: datetime) -> Device:
    try:
        with session.begin_nested():
            device = Device(id=device_id, user_id=user.id, registered_at=now)
            session.add(device)
    except IntegrityError:  # a parallel sign-in registered it first
        return session.get_one(Device, device_id)
    audit.record(
        session, actor=user, action="device.register", entity_type="device", entity_id=device.id
    )
    return device


def authenticate(
    session: Session, secret_key: str, token: str, *, now: datetime | None = None
) -> AccessToken:
    now = now or utcnow()
    access = session.scalars(
        select(AccessToken)
        .where(AccessToken.token_hash == token_hash(secret_key, token))
        .options(joinedload(AccessToken.user))  # every request needs both: one round trip
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


def revoke_user_tokens(
    session: Session, user_id: uuid.UUID, now: datetime, *, keep: uuid.UUID | None = None
) -> None:
    """Revoke every live token of the user, except `keep` (the one making the request)."""
    query = update(AccessToken).where(
        AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AccessToken.id != keep)
    session.execute(query.values(revoked_at=now))


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
