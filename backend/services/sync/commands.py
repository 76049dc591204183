"""The offline commands this server knows: one entry each.

An entry names the command and gives its three functions:

- `parse`: the arguments into a value, pure (in the framework-free `sync` package); raises
  `CommandRejected` for arguments that can never be applied.
- `reads`: what the batch must load before deciding it (inspections, enterprises, findings by
  id), so that a batch of 200 commands costs one query per kind, not one per command.
- `decide`: the outcome against the batch state, in memory; records what to write in the
  batch's `Effects` and raises `CommandRejected` to refuse.

How to add a command: docs/sync-protocol.md, "Adding a command".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sync import Mutation
from sync import activities as activity_rules
from sync import hazards as hazard_rules
from sync import inspections as inspection_rules

from . import hazards, inspections, records
from .batch import NOTHING, Batch, Outcome, Reads

A = TypeVar("A")


@dataclass(frozen=True)
class Command(Generic[A]):
    name: str
    parse: Callable[[Mapping[str, Any]], A]
    decide: Callable[[Batch, Mutation, A], Outcome]
    reads: Callable[[A], Reads] = lambda _args: NOTHING


COMMANDS: dict[str, Command[Any]] = {
    command.name: command
    for command in (
        Command(
            "inspection.save@1",
            inspection_rules.parse_save,
            inspections.decide_save,
            inspections.save_reads,
        ),
        Command(
            "inspection.submit@1",
            inspection_rules.parse_submit,
            inspections.decide_submit,
            inspections.submit_reads,
        ),
        Command("hazard.reinspect@1", hazard_rules.parse_reinspect, hazards.decide_reinspect),
        Command(activity_rules.NAME, activity_rules.parse_save, records.decide_record_save),
        Command(
            activity_rules.ENFORCEMENT_NAME,
            activity_rules.parse_enforcement_save,
            records.decide_record_save,
        ),
    )
}
