"""The change log that pull serves, as a service of its own.

Every write a tablet must learn of (an inspection saved, reviewed or completed by its last photo,
a hazard's event, an enterprise, a checklist version) appends its change rows here, in the same
transaction as the write. The tablet protocol (`services.sync`) reads it; every writer uses it.
An inspection's rows have one builder (`of_inspection`, or `of_stored_inspection` from its row).
"""

from .inspections import of_inspection, of_stored_inspection
from .log import (
    GLOBAL,
    ChangeRow,
    buckets_of,
    database_id,
    record,
    supervisors_bucket,
    transaction_id,
    unit_bucket,
    user_bucket,
)
from .render import jsonable

__all__ = [
    "GLOBAL",
    "ChangeRow",
    "buckets_of",
    "database_id",
    "jsonable",
    "of_inspection",
    "of_stored_inspection",
    "record",
    "supervisors_bucket",
    "transaction_id",
    "unit_bucket",
    "user_bucket",
]
