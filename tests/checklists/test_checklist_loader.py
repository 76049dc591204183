"""The loader derives version ids from content and refuses bad files, naming the line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from checklists import ChecklistError, ChecklistFileError, load_directory, load_file

# Line numbers matter: the refusal tests below assert them.
VALID = """\
code = "demo"
label = "v1"
title = "演示清单"
sector = "demo"
attachment = "附件9"

[source]
title = "演示方案"
number = "演〔2023〕1号"
issuer = "演示局"

[[items]]
code = "demo.1"
seq = "1"
category = "演示"
text = "是否演示"
defect_answer = "no"
polarity_reason = "是否…: 否 = defect"

[[items.checks]]
code = "demo.1.a"
seq = "1(a)"
text = "演示"
defect_answer = "no"
polarity_reason = "是否…: 否 = defect"

[[items]]
code = "demo.2"
seq = "2"
category = "演示"
text = "未演示"
defect_answer = "yes"
polarity_reason = "未…: 是 = defect"

[[rules]]
code = "demo.rule.1"
text = "未演示的"
expr = { any = ["demo.1.a", "demo.2"] }

[rules.source]
standard = "《演示标准》"
version = "2023"
article = "第一条"
title = "演示"
"""


def write(root: Path, text: str, code: str = "demo", label: str = "v1") -> Path:
    path = root / code / f"{label}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def refusal(tmp_path: Path, text: str) -> ChecklistFileError:
    with pytest.raises(ChecklistFileError) as caught:
        load_file(write(tmp_path, text))
    return caught.value


def test_valid_file_loads(tmp_path: Path) -> None:
    version = load_file(write(tmp_path, VALID))
    assert version.all_codes() == ("demo.1", "demo.1.a", "demo.2")
    assert version.item("demo.1.a").category == "演示"


def test_version_id_is_sha256_of_canonical_content(tmp_path: Path) -> None:
    version = load_file(write(tmp_path, VALID))
    content = {k: v for k, v in version.to_dict().items() if k != "version"}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert version.version == hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_same_content_gets_the_same_version_id(tmp_path: Path) -> None:
    first = load_file(write(tmp_path / "a", VALID))
    second = load_file(write(tmp_path / "b", VALID))
    assert first.version == second.version


def test_an_edited_text_gets_a_new_version_id(tmp_path: Path) -> None:
    before = load_file(write(tmp_path / "a", VALID))
    after = load_file(write(tmp_path / "b", edited('text = "未演示"', 'text = "未演示。"')))
    assert before.version != after.version


def test_an_edited_polarity_gets_a_new_version_id(tmp_path: Path) -> None:
    before = load_file(write(tmp_path / "a", VALID))
    after = load_file(
        write(
            tmp_path / "b", edited('polarity_reason = "未…: 是 = defect"', 'polarity_reason = "x"')
        )
    )
    assert before.version != after.version


def test_a_comment_edit_keeps_the_version_id(tmp_path: Path) -> None:
    before = load_file(write(tmp_path / "a", VALID))
    after = load_file(write(tmp_path / "b", "# reviewed again\n" + VALID))
    assert before.version == after.version


def test_refuses_a_duplicate_item_code_on_its_line(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('code = "demo.2"', 'code = "demo.1"'))
    assert error.line == 28
    assert str(error) == "demo/v1.toml:28: duplicate item code 'demo.1' (first used on line 13)"


def test_refuses_a_duplicate_sub_check_code_on_its_line(tmp_path: Path) -> None:
    second_check = '[[items.checks]]\ncode = "demo.1.a"\nseq = "1(b)"\ntext = "演示"\n'
    second_check += 'defect_answer = "no"\npolarity_reason = "r"\n\n'
    text = edited('[[items]]\ncode = "demo.2"', second_check + '[[items]]\ncode = "demo.2"')
    error = refusal(tmp_path, text)
    assert error.line == 28
    assert "duplicate sub-check code 'demo.1.a'" in error.message


def test_refuses_a_missing_defect_answer_at_the_item_header(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('defect_answer = "yes"\n', ""))
    assert error.line == 27
    assert "item 'demo.2' has no defect_answer" in error.message


def test_refuses_an_invalid_defect_answer_on_its_line(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('defect_answer = "yes"', 'defect_answer = "na"'))
    assert error.line == 32
    assert "defect_answer must be 'yes' or 'no', not 'na'" in error.message


def test_refuses_a_missing_defect_answer_on_a_sub_check(tmp_path: Path) -> None:
    text = edited(
        'seq = "1(a)"\ntext = "演示"\ndefect_answer = "no"\n', 'seq = "1(a)"\ntext = "演示"\n'
    )
    error = refusal(tmp_path, text)
    assert error.line == 20
    assert "sub-check 'demo.1.a' has no defect_answer" in error.message


def test_refuses_a_rule_naming_a_missing_item(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('"demo.1.a", "demo.2"', '"demo.1.a", "demo.9"'))
    assert error.line == 38
    assert "rule 'demo.rule.1' names unknown item 'demo.9'" in error.message


@pytest.mark.parametrize(
    ("expr", "complaint"),
    [
        ("{ any = [] }", "'any' needs a non-empty list"),
        ('{ all = "demo.2" }', "'all' needs a non-empty list"),
        ('{ most = ["demo.2"] }', "unknown expr operator 'most'"),
        ('{ any = ["demo.2"], all = ["demo.2"] }', "exactly one operator"),
        ("{}", "exactly one operator"),
        ("3", "an expr must be an item code or a table"),
    ],
)
def test_refuses_a_malformed_expr_on_its_line(tmp_path: Path, expr: str, complaint: str) -> None:
    error = refusal(tmp_path, edited('expr = { any = ["demo.1.a", "demo.2"] }', f"expr = {expr}"))
    assert error.line == 38
    assert "malformed expr" in error.message
    assert complaint in error.message


def test_refuses_a_malformed_expr_written_as_a_sub_table(tmp_path: Path) -> None:
    text = edited('expr = { any = ["demo.1.a", "demo.2"] }\n', "")
    text += "\n[rules.expr]\nany = []\n"
    error = refusal(tmp_path, text)
    assert error.line == 45
    assert "'any' needs a non-empty list" in error.message


def test_refuses_an_expr_that_holds_without_any_defect(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('{ any = ["demo.1.a", "demo.2"] }', '{ not = "demo.2" }'))
    assert error.line == 38
    assert "holds even without any defect" in error.message


def test_refuses_a_toml_syntax_error_on_its_line(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('seq = "2"', 'seq = "2'))
    assert error.line == 29
    assert error.message.startswith("TOML syntax error")


def test_refuses_a_missing_required_field_at_the_item_header(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('text = "未演示"\n', ""))
    assert error.line == 27
    assert "item 'demo.2' is missing required field 'text'" in error.message


def test_refuses_a_missing_top_level_field(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('attachment = "附件9"\n', ""))
    assert error.line == 1
    assert "missing required field 'attachment'" in error.message


def test_refuses_an_unknown_field_on_its_line(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('seq = "2"', 'seq = "2"\ndefect_anwser = "yes"'))
    assert error.line == 30
    assert "unknown field 'defect_anwser'" in error.message


def test_refuses_an_item_code_outside_the_checklist(tmp_path: Path) -> None:
    error = refusal(tmp_path, edited('code = "demo.2"', 'code = "other.2"'))
    assert error.line == 28
    assert "must start with 'demo.'" in error.message


def test_refuses_a_code_that_does_not_match_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ChecklistFileError) as caught:
        load_file(write(tmp_path, VALID, code="other"))
    assert caught.value.line == 1
    assert str(caught.value).startswith("other/v1.toml:1: code 'demo' must match")


def test_refuses_a_label_that_does_not_match_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ChecklistFileError) as caught:
        load_file(write(tmp_path, VALID, label="v2"))
    assert caught.value.line == 2


def test_file_errors_are_checklist_errors(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError):
        load_file(write(tmp_path, edited('code = "demo.2"', 'code = "demo.1"')))


def test_load_directory_refuses_the_whole_directory_for_one_bad_file(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    broken = edited('defect_answer = "yes"\n', "").replace('label = "v1"', 'label = "v2"')
    write(tmp_path, broken, label="v2")
    with pytest.raises(ChecklistFileError, match=r"^demo/v2\.toml:27: "):
        load_directory(tmp_path)
