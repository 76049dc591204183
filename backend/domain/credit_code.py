"""统一社会信用代码 (unified social credit code), GB 32100-2015.

18 characters: registration authority (1), organisation type (1), administrative division (6),
organisation code (9) and a final check character computed over the first 17 with weights
3^i mod 31. The embedded organisation code's own check digit is not enforced: codes issued to
individual businesses do not always carry one.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why `code` is not a valid 统一社会信用代码, or None when it is."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        return f"contains characters not allowed in GB 32100: {''.join(bad)} (no I, O, S, V, Z)"
    if not code[2:8].isdigit():
        return "characters 3-8 must be the 6-digit administrative division code"
    if code[17] != check_character(code[:17]):
        return f"check character is wrong: expected {check_character(code[:17])}, got {code[17]}"
    return None


def normalise(code: str) -> str:
    return code.strip().upper()
