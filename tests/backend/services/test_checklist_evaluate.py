"""Evaluating answers: each item is answered once."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.services import checklists


def test_a_repeated_item_is_refused_naming_it(session: Session) -> None:
    row = checklists.latest_versions(session)[0]
    item = row.content["items"][0]["code"]
    with pytest.raises(InvalidInput, match=item) as caught:
        checklists.evaluate(row, [(item, "yes"), (item, "no")])
    assert caught.value.errors == {"answers": [f"Repeated item {item}."]}
