"""Chalice-layout projects of real shapes (``tests/chalice_projects/``), each with the IAM
actions its code needs, written by hand from what each call does on AWS.

Shared by ``tests/test_chalice_corpus.py`` (porting, packaging, running and gen-policy recall and
precision) and ``benchmarks/bench_gen_policy.py`` (fw's figures beside Chalice's). The needs are
the actions of the code's own calls, as in ``tests/gen_policy_corpus.py``: the CloudWatch Logs
statement and what Lambda checks for a trigger (``deployer/policy/triggers.py``) are left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

PROJECTS_DIR = Path(__file__).resolve().parent / "chalice_projects"

# ``from chalice import X`` and ``from chalice.app import X``: the only lines a port changes.
CHALICE_IMPORT = re.compile(r"^(\s*)from chalice(\.app)? import ", re.MULTILINE)


class Project(NamedTuple):
    name: str
    shape: str
    needs: frozenset[str]

    @property
    def path(self) -> Path:
        return PROJECTS_DIR / self.name

    def sources(self) -> dict[str, str]:
        """Every ``.py`` file, by path relative to the project (``chalicelib/db.py``)."""
        return {
            p.relative_to(self.path).as_posix(): p.read_text("utf-8")
            for p in sorted(self.path.rglob("*.py"))
        }


PROJECTS: list[Project] = [
    Project(
        "todo_repository",
        "REST over DynamoDB through a repository class",
        frozenset(
            {
                "dynamodb:Query",  # list_items: table.query
                "dynamodb:PutItem",  # add_item
                "dynamodb:GetItem",  # get_item
                "dynamodb:UpdateItem",  # update_item
                "dynamodb:DeleteItem",  # delete_item
            }
        ),
    ),
    Project(
        "media_labels",
        "S3 and SNS processing with Rekognition",
        frozenset(
            {
                "rekognition:DetectLabels",
                # Rekognition reads the S3Object with the caller's rights (API Reference,
                # S3Object); copy_object reads the source too.
                "s3:GetObject",
                "s3:PutObject",  # put_object of the labels, copy_object's destination
                "sns:Publish",
            }
        ),
    ),
    Project(
        "orders_blueprints",
        "blueprints in chalicelib/ and an SQS worker",
        frozenset(
            {
                "sqs:GetQueueUrl",
                "sqs:SendMessage",
                "dynamodb:GetItem",
                "dynamodb:BatchWriteItem",  # batch_writer().put_item
                "events:PutEvents",
            }
        ),
    ),
    Project(
        "notes_pynamodb",
        "PynamoDB models with a global secondary index",
        frozenset(
            {
                "dynamodb:PutItem",  # note.save()
                "dynamodb:BatchWriteItem",  # Note.batch_write()
                "dynamodb:GetItem",  # Note.get
                "dynamodb:UpdateItem",  # note.update
                "dynamodb:DeleteItem",  # note.delete
                "dynamodb:Query",  # Note.by_owner.query
                "dynamodb:DescribeTable",  # Note.count() without a hash key
            }
        ),
    ),
    Project(
        "profiles_cognito",
        "views behind a Cognito user pool authorizer",
        frozenset(
            {
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "s3:PutObject",  # the presigned put_object URL is signed with the role
                "cognito-idp:ListUsers",  # through a paginator
                "cognito-idp:AdminDisableUser",
            }
        ),
    ),
    Project(
        "nightly_jobs",
        "scheduled jobs with a middleware",
        frozenset(
            {
                "ssm:GetParameter",
                "dynamodb:Scan",  # the scan paginator, and scan(Select="COUNT")
                "dynamodb:BatchWriteItem",  # batch_writer().delete_item
                "cloudwatch:PutMetricData",
                "sns:Publish",
            }
        ),
    ),
]


def port_source(text: str) -> str:
    """The source as it runs on fw: the Chalice import lines pointed at ``microframework``."""
    return CHALICE_IMPORT.sub(
        lambda m: f"{m.group(1)}from microframework{m.group(2) or ''} import ", text
    )


def score(found: set[str], needs: frozenset[str]) -> tuple[float, float]:
    """Recall and precision of ``found`` against ``needs``."""
    hits = len(found & needs)
    return hits / len(needs), (hits / len(found) if found else 1.0)
