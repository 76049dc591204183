"""Publishing checklist versions from the data files, and reading them back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import checklists as domain
from backend.errors import InvalidInput, NotFound
from backend.models import Checklist, ChecklistItem, ChecklistVersion

from . import changelog


@dataclass(frozen=True)
class Published:
    code: str
    version: str
    created: bool


def publish(session: Session, versions: Iterable[domain.ChecklistVersion]) -> list[Published]:
    """Store each version not stored yet. A stored version is never changed."""
    results = []
    for version in versions:
        existing = session.scalar(
            select(ChecklistVersion.id).where(
                ChecklistVersion.checklist_code == version.code,
                ChecklistVersion.version == version.version,
            )
        )
        if existing is None:
            _insert(session, version)
        results.append(Published(version.code, version.version, existing is None))
    session.flush()
    return results


def _insert(session: Session, version: domain.ChecklistVersion) -> None:
    checklist = session.get(Checklist, version.code)
    if checklist is None:
        session.add(Checklist(code=version.code, title=version.title, sector=version.sector))
    else:
        checklist.title, checklist.sector = version.title, version.sector
    row = ChecklistVersion(
        checklist_code=version.code,
        version=version.version,
        label=version.label,
        title=version.title,
        content=version.to_dict(),
    )
    session.add(row)
    session.flush()
    changelog.record(
        session,
        [
            changelog.ChangeRow(
                changelog.GLOBAL,
                "checklist_version",
                f"{version.code}:{version.version}",
                "upsert",
                1,
                {
                    "code": version.code,
                    "version": version.version,
                    "label": version.label,
                    "title": version.title,
                    "item_count": len(version.items),
                },
            )
        ],
    )
    session.add_all(
        ChecklistItem(
            version_id=row.id,
            code=item.code,
            parent_code=parent,
            seq=item.seq,
            position=position,
            defect_answer=item.defect_answer,
        )
        for position, (item, parent) in enumerate(_walk(version.items))
    )


def _walk(
    items: Iterable[domain.Item], parent: str | None = None
) -> Iterator[tuple[domain.Item, str | None]]:
    for item in items:
        yield item, parent
        yield from _walk(item.checks, item.code)


def latest_versions(session: Session) -> list[ChecklistVersion]:
    latest = (
        select(func.max(ChecklistVersion.id))
        .group_by(ChecklistVersion.checklist_code)
        .scalar_subquery()
    )
    query = select(ChecklistVersion).where(ChecklistVersion.id.in_(latest))
    return list(session.scalars(query.order_by(ChecklistVersion.checklist_code)))


def versions_of(session: Session, code: str) -> list[ChecklistVersion]:
    rows = list(
        session.scalars(
            select(ChecklistVersion)
            .where(ChecklistVersion.checklist_code == code)
            .order_by(ChecklistVersion.id)
        )
    )
    if not rows:
        raise NotFound(f"There is no checklist {code!r}. GET /api/v1/checklists lists them.")
    return rows


def get_version(session: Session, code: str, version: str) -> ChecklistVersion:
    row = session.scalar(
        select(ChecklistVersion).where(
            ChecklistVersion.checklist_code == code, ChecklistVersion.version == version
        )
    )
    if row is None:
        versions_of(session, code)  # says so if the checklist itself is unknown
        raise NotFound(
            f"Checklist {code!r} has no version {version!r}. GET /api/v1/checklists/{code} "
            "names the latest one."
        )
    return row


def evaluate(row: ChecklistVersion, answers: Iterable[tuple[str, str]]) -> domain.Evaluation:
    """The verdict for these answers; each item may be answered once."""
    pairs = list(answers)
    counts = Counter(item for item, _ in pairs)
    repeated = sorted(item for item, n in counts.items() if n > 1)
    if repeated:
        raise InvalidInput(
            f"Each item may be answered once; repeated: {', '.join(repeated)}.",
            errors={"answers": [f"Repeated item {i}." for i in repeated]},
        )
    version = domain.ChecklistVersion.from_dict(row.content)
    return version.evaluate(dict(pairs))
