"""gen-policy over PynamoDB models, and warnings for code the analyzer cannot read.

The operations each PynamoDB method sends were read from PynamoDB 6's source;
``test_the_mapping_matches_what_pynamodb_sends`` runs the same methods against moto and asserts
botocore sent exactly those operations, so a PynamoDB release that changes them fails here.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from deployer.policy.analyzer import analyze_files

MODELS = """\
import os

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite
from pynamodb.connection import Connection


class ByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)


class Note(Model):
    class Meta:
        table_name = os.environ.get("NOTES_TABLE", "notes")
        region = "us-east-1"

    id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    views = NumberAttribute(default=0)
    by_owner = ByOwner()
"""


def calls(body: str, models: str = MODELS) -> set[str]:
    source = models + "\n\ndef handler(event, context):\n" + textwrap.indent(body, "    ")
    result = analyze_files({"app.py": source})
    assert result.warnings == ()
    return {operation for service, operation in result.calls if service == "dynamodb"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Note.get('1')", {"GetItem"}),
        ("Note.get('1').refresh()", {"GetItem"}),
        ("Note(id='1', owner='a').save()", {"PutItem"}),
        ("Note.get('1').update(actions=[Note.views.add(1)])", {"GetItem", "UpdateItem"}),
        ("note = Note('1')\nnote.delete()", {"DeleteItem"}),
        ("list(Note.batch_get(['1', '2']))", {"BatchGetItem"}),
        ("with Note.batch_write() as batch:\n    batch.save(Note('1'))", {"BatchWriteItem"}),
        ("list(Note.query('1'))", {"Query"}),
        ("list(Note.scan())", {"Scan"}),
        ("Note.count()", {"DescribeTable"}),
        ("Note.count(hash_key=None)", {"DescribeTable"}),
        ("Note.count(event['id'])", {"Query"}),
        ("Note.describe_table()", {"DescribeTable"}),
        ("Note.exists()", {"DescribeTable"}),
        ("Note.create_table(wait=True)", {"DescribeTable", "CreateTable"}),
        ("Note.delete_table()", {"DeleteTable"}),
        ("Note.delete_table(wait=True)", {"DeleteTable", "DescribeTable"}),
        ("for n in Note.by_owner.query('alice'):\n    n.save()", {"Query", "PutItem"}),
        ("list(Note.by_owner.scan())", {"Scan"}),
        ("Note.by_owner.count('alice')", {"Query"}),
        (
            "with TransactWrite(connection=Connection()) as tx:\n"
            "    tx.save(Note('1'))\n"
            "    tx.update(Note('2'), actions=[Note.views.add(1)])\n"
            "    tx.delete(Note('3'))\n"
            "    tx.condition_check(Note, '4', condition=Note.id.exists())",
            {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
        ),
        ("with TransactGet() as tx:\n    tx.get(Note, '1')", {"GetItem"}),
        ("Note('1').to_simple_dict()\nNote.from_raw_data({})", set()),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_pynamodb_method_maps_to_the_operations_it_sends(body: str, expected: set[str]) -> None:
    assert calls(body) == expected


def test_a_computed_method_of_a_model_is_a_warning() -> None:
    source = MODELS + "\n\ndef handler(event, context):\n    getattr(Note, event['op'])()\n"
    (warning,) = analyze_files({"app.py": source}).warnings
    assert warning.endswith("cannot resolve the attribute name of getattr(Note, event['op'])")


def test_create_table_of_a_model_with_a_ttl_attribute_updates_the_ttl() -> None:
    models = MODELS + "    expires = TTLAttribute(null=True)\n"
    assert calls("Note.create_table()", models) == {
        "DescribeTable",
        "CreateTable",
        "UpdateTimeToLive",
    }


def test_models_in_a_chalicelib_module_through_a_subclass_and_self() -> None:
    files = {
        "chalicelib/__init__.py": "",
        "chalicelib/models.py": MODELS
        + textwrap.dedent(
            """
            class Base(Model):
                class Meta:
                    table_name = "base"

            class Audit(Base):
                def archive(self):
                    self.delete()
            """
        ),
        "app.py": textwrap.dedent(
            """
            from chalicelib.models import Audit

            def handler(event, context):
                Audit.get(event["id"]).archive()
            """
        ),
    }
    result = analyze_files(files)
    assert result.calls == {("dynamodb", "GetItem"), ("dynamodb", "DeleteItem")}


def test_a_projects_own_method_wins_over_pynamodbs() -> None:
    models = MODELS + "\n    def save(self):\n        return None\n"
    assert calls("Note('1').save()", models) == set()


def test_plain_classes_with_the_same_method_names_call_nothing() -> None:
    source = "class Repo:\n    pass\n\ndef handler(e, c):\n    Repo().save()\n    Repo.get('1')\n"
    assert analyze_files({"app.py": source}).calls == frozenset()


@pytest.mark.parametrize(
    ("source", "warning"),
    [
        ("eval(code)", "app.py:2: eval() runs code the analyzer cannot read: eval(code)"),
        ("exec('x = 1')", "app.py:2: exec() runs code the analyzer cannot read: exec('x = 1')"),
        ("__import__(name)", "app.py:2: cannot resolve the module name of __import__(name)"),
        (
            "import importlib\nimportlib.import_module(name)",
            "app.py:3: cannot resolve the module name of importlib.import_module(name)",
        ),
        (
            "from importlib import import_module\nimport_module('chalicelib.' + name)",
            "app.py:3: cannot resolve the module name of import_module('chalicelib.' + name)",
        ),
        ("boto3.client(name)", "app.py:2: cannot resolve the service name of boto3.client(name)"),
        (
            "getattr(boto3.client('s3'), op)()",
            "app.py:2: cannot resolve the attribute name of getattr(boto3.client('s3'), op)",
        ),
        (
            "import dynamorm",
            "app.py:2: 'dynamorm' calls DynamoDB with code the analyzer does not read; add the"
            " actions it needs with iam_policy_file",
        ),
        (
            "from aws_lambda_powertools.utilities import parameters",
            "app.py:2: 'aws_lambda_powertools.utilities.parameters' calls SSM, Secrets Manager,"
            " AppConfig and DynamoDB with code the analyzer does not read; add the actions it"
            " needs with iam_policy_file",
        ),
        (
            "from aws_lambda_powertools.utilities.parameters import get_parameter",
            "app.py:2: 'aws_lambda_powertools.utilities.parameters' calls SSM, Secrets Manager,"
            " AppConfig and DynamoDB with code the analyzer does not read; add the actions it"
            " needs with iam_policy_file",
        ),
    ],
    ids=[
        "eval",
        "exec",
        "__import__",
        "import_module",
        "import_module-concat",
        "client-name",
        "getattr",
        "orm",
        "powertools-package",
        "powertools-module",
    ],
)
def test_code_the_analyzer_cannot_read_is_a_warning_with_its_line(
    source: str, warning: str
) -> None:
    assert analyze_files({"app.py": f"import boto3\n{source}\n"}).warnings == (warning,)


def test_an_import_by_a_known_name_is_followed() -> None:
    files = {
        "chalicelib/__init__.py": "",
        "chalicelib/jobs.py": "import boto3\n\ndef run():\n    boto3.client('sqs').send_message()\n",
        "app.py": "import importlib\n\njobs = importlib.import_module('chalicelib.jobs')\n"
        "def handler(e, c):\n    jobs.run()\n",
    }
    result = analyze_files(files)
    assert (result.calls, result.warnings) == ({("sqs", "SendMessage")}, ())


def test_powertools_logger_alone_is_no_warning() -> None:
    source = "from aws_lambda_powertools import Logger\nlogger = Logger()\n"
    assert analyze_files({"app.py": source}).warnings == ()


def test_a_project_module_named_like_a_library_is_read_not_warned_about() -> None:
    files = {"app.py": "import boto\n", "boto.py": "X = 1\n"}
    assert analyze_files(files).warnings == ()


def _sent_operations(body: str, endpoint: str) -> set[str]:
    """Run ``body`` against moto after storing one note; the operations botocore sent for it."""
    namespace: dict[str, object] = {}
    exec(MODELS + _TTL, namespace)  # noqa: S102 - the test's own models
    note = namespace["Note"]
    note.Meta.host = endpoint  # type: ignore[attr-defined]
    note.create_table(billing_mode="PAY_PER_REQUEST")  # type: ignore[attr-defined]
    note(id="1", owner="a").save()  # type: ignore[operator]
    client = note._get_connection().connection.client  # type: ignore[attr-defined]
    sent: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: sent.append(model.name))
    exec(textwrap.dedent(body), {**namespace, "event": {"id": "1"}})  # noqa: S102
    return set(sent)


_TTL = "    expires = TTLAttribute(null=True)\n"


@pytest.mark.parametrize(
    "body",
    [
        "Note(id='2', owner='a').save()",
        "Note.get('1')",
        "Note.get('1').refresh()",
        "Note.get('1').update(actions=[Note.views.add(1)])",
        "Note.get('1').delete()",
        "list(Note.batch_get(['1']))",
        "with Note.batch_write() as batch:\n    batch.save(Note('2', owner='b'))",
        "list(Note.query('1'))",
        "list(Note.scan())",
        "Note.count()",
        "Note.count(event['id'])",
        "Note.exists()",
        "Note.delete_table(wait=True)\nNote.create_table(wait=True)",
        "list(Note.by_owner.query('a'))",
        "Note.by_owner.count('a')",
    ],
)
def test_the_mapping_matches_what_pynamodb_sends(body: str, aws: str) -> None:
    # Transactions are left out: they send TransactWriteItems/TransactGetItems, and the actions
    # IAM checks for their items are AWS's rule (cited in deployer/policy/libraries.py).
    assert _sent_operations(body, aws) == calls(body, MODELS + _TTL)


@pytest.mark.parametrize(
    ("call", "reads_s3"),
    [
        ("detect_labels(Image={'S3Object': {'Bucket': b, 'Name': k}})", True),
        ("detect_faces(Image=dict(S3Object={'Bucket': b, 'Name': k}))", True),
        ("detect_labels(Image=image)", True),  # a variable may hold an S3Object
        ("start_label_detection(**request)", True),
        ("detect_labels(Image={'Bytes': data})", False),
        ("list_collections()", False),
    ],
)
def test_rekognition_reading_an_s3_object_needs_get_object(call: str, reads_s3: bool) -> None:
    source = f"import boto3\nboto3.client('rekognition').{call}\n"
    found = analyze_files({"app.py": source}).calls
    assert (("s3", "GetObject") in found) is reads_s3


def test_fw_gen_policy_prints_these_warnings_on_stderr_with_chalicelib_paths(
    tmp_path: Path,
) -> None:
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "__init__.py").write_text("")
    (tmp_path / "chalicelib" / "plugins.py").write_text(
        "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n"
    )
    (tmp_path / "app.py").write_text(MODELS + "\nfrom chalicelib import plugins\nNote.get('1')\n")
    result = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "gen-policy"])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Warning: chalicelib/plugins.py:4: cannot resolve the module name of"
        " importlib.import_module(name)\n"
    )
    assert json.loads(result.stdout)["Statement"][1]["Action"] == ["dynamodb:GetItem"]


@pytest.mark.parametrize(
    "expression",
    ["'s' + '3'", "f's3'", "('s' + '') + f'{\"3\"}'"],
    ids=["plus", "fstring", "nested"],
)
def test_a_string_made_of_literals_resolves(expression: str) -> None:
    source = f"import boto3\nboto3.client({expression}).list_buckets()\n"
    result = analyze_files({"app.py": source})
    assert (result.calls, result.warnings) == ({("s3", "ListBuckets")}, ())


def test_a_string_grown_in_a_loop_is_not_folded() -> None:
    source = (
        "import boto3\nname = 's'\nfor _ in range(3):\n    name = name + '3'\nboto3.client(name)\n"
    )
    result = analyze_files({"app.py": source})
    assert result.calls == frozenset()
