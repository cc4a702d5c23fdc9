"""What AWS checks a role for beyond the code's calls: trigger pollers, VPC interfaces, keys.

fw deploy, fw package (SAM) and fw gen-policy must show the same statements, each linted with
parliament (an IAM linter that knows every action's resource types) and free of wildcard actions.
"""

from __future__ import annotations

import json
import shutil
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from _iam_lint import POLLER_ACTIONS, assert_clean, resources, statements
from click.testing import CliRunner
from gen_policy_corpus import CORPUS, Case

from cli.main import cli
from deployer.deploy.desired import build_desired
from deployer.package.build import Artifact, PackageResult
from deployer.package.sam import build_template
from deployer.policy.analyzer import analyze_files
from deployer.policy.role_policy import policy_from_calls
from deployer.policy.triggers import grants
from deployer.project.app_loader import load_stage_app
from deployer.project.config import load_config

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STREAM = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/items/stream/2024-01-01T00:00:00.000"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

APP = f"""\
import boto3
from microframework import App

app = App("trig")


@app.route("/")
def index():
    boto3.client("sqs").send_message(QueueUrl="u", MessageBody="b")
    return {{}}


@app.on_sqs_message(queue="jobs")
def work(event):
    pass


@app.on_kinesis_record(stream="clicks")
def clicks(event):
    pass


@app.on_dynamodb_record(stream_arn="{STREAM}")
def rows(event):
    pass
"""


def project(tmp_path: Path, source: str = APP, **stage: Any) -> Path:
    (tmp_path / "app.py").write_text(source)
    (tmp_path / ".fw").mkdir(exist_ok=True)
    config = {"version": "1.0", "app_name": "trig", "stages": {"dev": stage}}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    return tmp_path


def package(tmp_path: Path) -> PackageResult:
    return PackageResult(
        Artifact(tmp_path / "deployment.zip", "0" * 64, "AAAA", 100, 200), None, False
    )


def deploy_roles(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Role name -> the policy fw deploy would put on it (no AWS call: desired state only)."""
    config = load_config(tmp_path, "dev")
    app = load_stage_app(tmp_path, config, region=REGION)
    desired = build_desired(app, config, package(tmp_path), region=REGION, account_id=ACCOUNT)
    return {role.name: role.policy_document for role in desired.state.roles}


def sam_policies(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Function logical id -> its inline policy in the SAM template, CloudFormation's
    substitutions resolved as a stack in REGION/ACCOUNT would resolve them."""
    config = load_config(tmp_path, "dev")
    app = load_stage_app(tmp_path, config, region=REGION)
    template = build_template(app, config, policy=_code_policy(tmp_path), package=package(tmp_path))
    text = json.dumps(template)
    for name, value in (("Partition", "aws"), ("Region", REGION), ("AccountId", ACCOUNT)):
        text = text.replace(f"${{AWS::{name}}}", value)
    resolved = json.loads(text, object_hook=lambda d: d.get("Fn::Sub", d) if len(d) == 1 else d)
    return {
        logical_id: resource["Properties"]["Policies"][0]
        for logical_id, resource in resolved["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _code_policy(tmp_path: Path) -> dict[str, Any]:
    from deployer.policy.role_policy import build_policy

    return build_policy(tmp_path).document


def gen_policy(tmp_path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "gen-policy"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


# --- the statements ---------------------------------------------------------------------------


def test_each_trigger_gives_its_poller_actions_on_the_exact_arns(tmp_path: Path) -> None:
    (document,) = deploy_roles(project(tmp_path)).values()
    on = {}
    for statement in statements(document):
        for action in statement["Action"]:
            on.setdefault(action, set()).update(resources(statement))
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
    stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
    for action in POLLER_ACTIONS["sqs"]:
        assert on[action] == {queue}
    assert on["kinesis:ListStreams"] == {"*"}  # it takes no resource
    assert on["kinesis:SubscribeToShard"] == {f"{stream}/consumer/*"}
    for action in POLLER_ACTIONS["kinesis"] - {"kinesis:ListStreams", "kinesis:SubscribeToShard"}:
        assert on[action] == {stream}
    assert on["dynamodb:ListStreams"] == {"*"}
    for action in POLLER_ACTIONS["dynamodb"] - {"dynamodb:ListStreams"}:
        assert on[action] == {STREAM}
    # The code's own call stays, and the poller's SQS actions do not replace it.
    assert "sqs:SendMessage" in on
    assert_clean(document)


def test_vpc_function_gets_the_network_interface_actions(tmp_path: Path) -> None:
    source = "from microframework import App\napp = App('trig')\n\n@app.route('/')\ndef i():\n    return {}\n"
    project(tmp_path, source, subnet_ids=["subnet-1"], security_group_ids=["sg-1"])
    (document,) = deploy_roles(tmp_path).values()
    vpc = [s for s in statements(document) if s["Action"][0].startswith("ec2:")]
    assert vpc == [
        {
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            # A subnet or security group shared through RAM carries its owner's account.
            "Resource": [
                f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*",
                f"arn:aws:ec2:{REGION}:*:subnet/subnet-1",
                f"arn:aws:ec2:{REGION}:*:security-group/sg-1",
            ],
        },
    ]
    assert_clean(document)


def test_source_key_gets_decrypt_only_on_that_key(tmp_path: Path) -> None:
    project(tmp_path, lambda_functions={"work": {"source_kms_key_arn": KEY}})
    roles = deploy_roles(tmp_path)
    # Different config -> the same policy settings, so still one shared role.
    (document,) = roles.values()
    decrypt = [s for s in statements(document) if "kms:Decrypt" in s["Action"]]
    assert decrypt == [{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": KEY}]
    assert_clean(document)


def test_a_hand_written_policy_is_used_exactly_as_written(tmp_path: Path) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}  # fmt: skip
    project(tmp_path, autogen_policy=False, iam_policy_file="mine.json")
    (tmp_path / ".fw" / "mine.json").write_text(json.dumps(policy))
    assert list(deploy_roles(tmp_path).values()) == [policy]
    assert gen_policy(tmp_path) == policy


def test_functions_sharing_a_role_get_each_others_statements_once(tmp_path: Path) -> None:
    source = (
        APP + '\n\n@app.on_sqs_message(queue="jobs", name="again")\ndef again(event):\n    pass\n'
    )
    (document,) = deploy_roles(project(tmp_path, source)).values()
    sqs = [s for s in statements(document) if "sqs:ReceiveMessage" in s["Action"]]
    assert len(sqs) == 1


# --- deploy, SAM and gen-policy agree ----------------------------------------------------------


def test_deploy_sam_and_gen_policy_show_the_same_statements(tmp_path: Path) -> None:
    project(tmp_path, subnet_ids=["subnet-1"], security_group_ids=["sg-1"])
    (deployed,) = deploy_roles(tmp_path).values()
    printed = gen_policy(tmp_path)
    # gen-policy has no account or region: "*" stands in those fields, and nothing else differs.
    assert len(statements(printed)) == len(statements(deployed))
    for shown, real in zip(statements(printed), statements(deployed), strict=True):
        assert shown["Action"] == real["Action"]
        assert all(
            fnmatchcase(arn, pattern)
            for arn, pattern in zip(resources(real), resources(shown), strict=True)
        ), (shown, real)
    # SAM gives each function a role of its own: the code's statements plus its own triggers',
    # which are exactly those the shared deploy role holds for it.
    per_function = sam_policies(tmp_path)
    union: list[dict[str, Any]] = []
    for document in per_function.values():
        union += [s for s in statements(document) if s not in union]
    assert sorted(map(json.dumps, union)) == sorted(map(json.dumps, statements(deployed)))
    assert_clean(deployed)
    assert_clean(printed)
    for document in per_function.values():
        assert_clean(document)


def test_gen_policy_of_a_lone_file_is_its_calls_only(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import boto3\nboto3.client('sns').publish()\n")
    printed = gen_policy(tmp_path)
    assert [s["Action"] for s in statements(printed)][1:] == [["sns:Publish"]]


@pytest.mark.parametrize(
    ("document", "action", "expected"),
    [
        (
            {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]},
            "sqs:ReceiveMessage",
            True,
        ),  # fmt: skip
        (
            {"Statement": [{"Effect": "Allow", "Action": ["SQS:receivemessage"], "Resource": "*"}]},
            "sqs:ReceiveMessage",
            True,
        ),  # fmt: skip
        (
            {"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}},
            "sqs:ReceiveMessage",
            False,
        ),  # fmt: skip
        (
            {"Statement": [{"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}]},
            "sqs:ReceiveMessage",
            False,
        ),  # fmt: skip
        (None, "sqs:ReceiveMessage", False),
    ],
    ids=["wildcard", "case-insensitive", "single-statement-other-action", "deny", "no-policy"],
)
def test_grants(document: Any, action: str, expected: bool) -> None:
    assert grants(document, action) is expected


# --- every policy fw generates for the samples and the corpus lints clean ------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.iterdir() if p.is_dir()))
def test_sample_policies_lint_clean(sample: str, tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / sample
    shutil.copytree(SAMPLES / sample, project)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for document in deploy_roles(project).values():
        assert_clean(document)
    assert_clean(gen_policy(project))


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_corpus_policies_lint_clean(case: Case) -> None:
    assert_clean(policy_from_calls(analyze_files(case.files).calls))


QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
ON_QUEUE = {"Statement": [{"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": QUEUE}]}


@pytest.mark.parametrize(
    ("resource", "expected"),
    [(QUEUE, True), (f"arn:aws:sqs:{REGION}:{ACCOUNT}:other", False), (None, True)],
    ids=["that-queue", "another-queue", "any-resource"],
)
def test_grants_on_a_resource(resource: str | None, expected: bool) -> None:
    # A policy that allows the action on another queue does not let Lambda read this one.
    assert grants(ON_QUEUE, "sqs:ReceiveMessage", resource) is expected


def test_grants_reads_iam_wildcards_not_fnmatch_classes() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:*:jobs-?"}]}
    assert grants(document, "sqs:ReceiveMessage", "arn:aws:sqs:r:1:jobs-a")
    assert not grants(
        {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:[a]"}]},
        "sqs:ReceiveMessage",
        "arn:a",
    )


def test_queues_polled_alike_share_one_statement(tmp_path: Path) -> None:
    # An inline role policy holds 10,240 characters ("IAM and AWS STS quotas"): thirty queues
    # must add thirty ARNs, not thirty statements.
    handlers = "".join(
        f"\n\n@app.on_sqs_message(queue='q{i}')\ndef work{i}(event):\n    pass\n" for i in range(30)
    )
    project(tmp_path, "from microframework import App\napp = App('trig')\n" + handlers)
    (document,) = deploy_roles(tmp_path).values()
    (poller,) = [s for s in statements(document) if "sqs:ReceiveMessage" in s["Action"]]
    assert poller["Resource"] == [f"arn:aws:sqs:{REGION}:{ACCOUNT}:q{i}" for i in range(30)]
    assert len(json.dumps(document, separators=(",", ":"))) < 10_240
    assert_clean(document)
