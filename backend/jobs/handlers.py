"""Every module that registers outbox handlers, imported wherever outbox rows run."""

from __future__ import annotations

from . import derivatives, ledger

__all__ = ["derivatives", "ledger"]
