"""The policy document: least privilege over the corpus, deterministic shape, hybrid files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gen_policy_corpus import CORPUS, Case

from deployer.errors import PolicyError
from deployer.policy.role_policy import LOGS_STATEMENT, PolicyResult, build_policy, generate_policy


def write_project(root: Path, files: dict[str, str]) -> Path:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def service_actions(result: PolicyResult) -> set[str]:
    statements = result.document["Statement"]
    assert statements[0] == LOGS_STATEMENT
    return {action for s in statements[1:] for action in s["Action"]}


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_corpus_case_gets_exactly_its_actions(case: Case, tmp_path: Path) -> None:
    result = generate_policy(write_project(tmp_path, case.files))
    assert service_actions(result) == case.expected
    assert result.warnings == ()


def test_recall_and_precision_on_the_whole_corpus(tmp_path: Path) -> None:
    hits = found_total = expected_total = 0
    for case in CORPUS:
        found = service_actions(generate_policy(write_project(tmp_path / case.id, case.files)))
        hits += len(found & case.expected)
        found_total += len(found)
        expected_total += len(case.expected)
    assert len(CORPUS) >= 15
    assert hits / expected_total == 1.0  # recall
    assert hits / found_total == 1.0  # precision


def test_document_shape_is_one_sorted_statement_per_service(tmp_path: Path) -> None:
    app = (
        "import boto3\nboto3.client('sqs').send_message()\nboto3.client('s3').put_object()\n"
        "boto3.client('s3').get_object()\nboto3.client('dynamodb').query()\n"
    )
    document = generate_policy(write_project(tmp_path, {"app.py": app})).document
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            LOGS_STATEMENT,
            {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"},
        ],
    }


def test_app_without_aws_calls_still_can_log(tmp_path: Path) -> None:
    result = generate_policy(write_project(tmp_path, {"app.py": "print('hi')\n"}))
    assert result.document["Statement"] == [LOGS_STATEMENT]
    assert LOGS_STATEMENT["Resource"] == "arn:*:logs:*:*:*"


def test_other_app_filename(tmp_path: Path) -> None:
    write_project(tmp_path, {"main.py": "import boto3\nboto3.client('sns').publish()\n"})
    assert service_actions(generate_policy(tmp_path, app_filename="main.py")) == {"sns:Publish"}


def test_syntax_error_is_one_line_policy_error(tmp_path: Path) -> None:
    write_project(tmp_path, {"app.py": "import boto3\n\ndef f(:\n"})
    with pytest.raises(PolicyError, match=r"^app.py:3: syntax error: invalid syntax$"):
        generate_policy(tmp_path)


EXTRA = {"Effect": "Allow", "Action": ["ses:SendRawEmail"], "Resource": "*"}


def write_policy_file(project: Path, content: str) -> None:
    (project / ".fw").mkdir(exist_ok=True)
    (project / ".fw" / "extra.json").write_text(content)


def test_hybrid_adds_file_statements_after_generated_ones(tmp_path: Path) -> None:
    write_project(tmp_path, {"app.py": "import boto3\nboto3.client('sqs').send_message()\n"})
    write_policy_file(
        tmp_path, json.dumps({"Version": "2012-10-17", "Statement": [EXTRA, LOGS_STATEMENT]})
    )
    statements = build_policy(tmp_path, iam_policy_file="extra.json").document["Statement"]
    assert statements[-1] == EXTRA
    assert statements.count(LOGS_STATEMENT) == 1
    assert {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"} in statements


def test_single_statement_object_in_file_is_accepted(tmp_path: Path) -> None:
    write_project(tmp_path, {"app.py": ""})
    write_policy_file(tmp_path, json.dumps({"Version": "2012-10-17", "Statement": EXTRA}))
    assert build_policy(tmp_path, iam_policy_file="extra.json").document["Statement"][-1] == EXTRA


def test_autogen_off_uses_the_file_verbatim_without_reading_the_app(tmp_path: Path) -> None:
    document = {"Version": "2012-10-17", "Id": "mine", "Statement": [EXTRA]}
    write_policy_file(tmp_path, json.dumps(document))  # no app.py at all
    result = build_policy(tmp_path, autogen_policy=False, iam_policy_file="extra.json")
    assert result == PolicyResult(document, ())


def test_autogen_off_without_a_file_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no iam_policy_file is set"):
        build_policy(tmp_path, autogen_policy=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"iam_policy_file '.*extra.json' does not exist"),
        ("{not json", r"iam_policy_file '.*extra.json' is not valid JSON at line 1:2"),
        ('{"Version": "2012-10-17"}', r"iam_policy_file '.*extra.json' has no \"Statement\" list"),
        ('{"Statement": ["x"]}', r"has no \"Statement\" list"),
    ],
    ids=["missing", "invalid-json", "no-statement", "statement-not-objects"],
)
def test_bad_policy_file_is_a_policy_error_with_its_path(
    tmp_path: Path, content: str | None, message: str
) -> None:
    write_project(tmp_path, {"app.py": ""})
    if content is not None:
        write_policy_file(tmp_path, content)
    for autogen in (True, False):
        with pytest.raises(PolicyError, match=message):
            build_policy(tmp_path, autogen_policy=autogen, iam_policy_file="extra.json")
