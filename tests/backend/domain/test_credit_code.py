from __future__ import annotations

import pytest

from backend.domain import credit_code


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_real_codes_are_valid(code: str) -> None:
    assert credit_code.problem(code) is None


def test_a_wrong_check_character_is_named() -> None:
    assert credit_code.problem("91350100M000100Y44") == (
        "check character is wrong: expected 3, got 4"
    )


def test_letters_gb32100_never_uses_are_refused() -> None:
    problem = credit_code.problem("91350100M0001O0Y43")
    assert problem is not None
    assert "O" in problem


def test_the_length_is_checked() -> None:
    assert credit_code.problem("9135010") == "must be 18 characters, got 7"


def test_the_division_code_must_be_digits() -> None:
    first17 = "91A50100M000100Y4"
    assert "division" in (credit_code.problem(first17 + credit_code.check_character(first17)) or "")
