"""What every command of a push shares: its context, its outcome, and the batch's effects.

A command never writes while it is decided. Its decision reads the batch state (loaded in bulk
before anything is decided) and records what the batch must write in `Effects`; once every
command of the batch is decided, `writes.write` writes all of it, in a few multi-row statements.
See docs/sync-protocol.md, "Adding a command".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.models import Device, User
from backend.services.ledger.events import Decided as HazardEvent
from sync import Mutation

from .state import BatchState, Snapshot


@dataclass(frozen=True)
class Context:
    session: Session
    user: User
    device: Device
    now: datetime


@dataclass(frozen=True)
class Reads:
    """What a command needs loaded before the batch is decided (one query per kind)."""

    inspections: frozenset[uuid.UUID] = frozenset()
    enterprises: frozenset[uuid.UUID] = frozenset()
    findings: frozenset[uuid.UUID] = frozenset()


NOTHING = Reads()


@dataclass
class Effects:
    """What the decided batch writes. One list per kind of write, one writer per list."""

    changes: list[tuple[Snapshot, str]] = field(default_factory=list)  # (after, command name)
    amendments: list[dict[str, Any]] = field(default_factory=list)
    hazard_events: list[HazardEvent] = field(default_factory=list)


@dataclass
class Batch:
    """One batch while it is decided: the context, what was loaded, what will be written."""

    ctx: Context
    state: BatchState
    effects: Effects = field(default_factory=Effects)


@dataclass
class Outcome:
    mutation: Mutation
    status: str  # applied | rejected | conflict
    code: str | None = None
    message: str | None = None
    errors: dict[str, Any] | None = None
    entity: dict[str, Any] | None = None

    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "seq": self.mutation.seq,
            "id": str(self.mutation.id),
            "status": self.status,
        }
        for key in ("code", "message", "errors", "entity"):
            if getattr(self, key):
                result[key] = getattr(self, key)
        return result


def applied(mutation: Mutation, entity_type: str, entity_id: uuid.UUID, version: int) -> Outcome:
    return Outcome(
        mutation, "applied", entity={"type": entity_type, "id": str(entity_id), "version": version}
    )
