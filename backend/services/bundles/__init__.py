"""佐证 bundles: one verifiable ZIP per inspection or hazard loop (docs/bundles.md)."""
