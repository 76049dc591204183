"""Registering a tablet for the signed-in user."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import DeviceRevoked, DeviceTaken, UnknownDevice
from backend.models import Device, User, utcnow
from backend.services import audit


def register(
    session: Session,
    user: User,
    device_id: uuid.UUID,
    *,
    app_version: str | None,
    schema_version: int | None,
    platform: str | None,
    now: datetime | None = None,
) -> Device:
    """Idempotent: registering again updates the app details and answers the same device."""
    now = now or utcnow()
    device = session.get(Device, device_id, with_for_update=_lock(session))
    if device is None:
        device = Device(id=device_id, user_id=user.id, registered_at=now)
        session.add(device)
        audit.record(
            session, actor=user, action="device.register", entity_type="device", entity_id=device_id
        )
    elif device.user_id != user.id:
        raise DeviceTaken(
            "This device_id is registered to another user. Generate a new device "
            "id for this user on the tablet.",
            errors={"device_id": ["Registered to another user."]},
        )
    if device.revoked_at is not None:
        raise DeviceRevoked(
            "This device was revoked by an administrator. Ask them about it before using it again."
        )
    device.app_version, device.schema_version, device.platform = (
        app_version,
        schema_version,
        platform,
    )
    device.last_seen_at = now
    session.flush()
    return device


def own_device(session: Session, user: User, device_id: uuid.UUID, *, lock: bool) -> Device:
    """The caller's registered, unrevoked device; anything else is reported as unknown."""
    query = select(Device).where(Device.id == device_id)
    if lock and _lock(session):
        query = query.with_for_update()
    device = session.scalars(query).one_or_none()
    if device is None or device.user_id != user.id:
        raise UnknownDevice(
            f"Device {device_id} is not registered for you. Register it with "
            "POST /api/v1/sync/devices first.",
            errors={"device_id": ["Not registered for this user."]},
        )
    if device.revoked_at is not None:
        raise DeviceRevoked("This device was revoked by an administrator.")
    return device


def _lock(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
