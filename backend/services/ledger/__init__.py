"""The hazard ledger (隐患台账): entries made from confirmed findings, the closed loop they
follow (待整改 → 整改中 → 待复查 → 已整改 → 已销号), and how the ledger is read and exported.

Modules: `entries` (the worker's part), `events` (the closed loop), `states` (what may happen
when), `numbering`, `history` (event + audit + change rows), `queries`, `render`, `export`,
`errors`.
"""
