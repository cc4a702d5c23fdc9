"""The analyzer follows boto3 objects through the app's code without running it."""

from __future__ import annotations

import sys
import textwrap

import pytest

from deployer.errors import PolicyError
from deployer.policy.analyzer import analyze_files, analyze_project


def calls(source: str, **lib: str) -> set[tuple[str, str]]:
    files = {"app.py": textwrap.dedent(source)}
    files.update({f"lib/{name}.py": textwrap.dedent(src) for name, src in lib.items()})
    result = analyze_files(files)
    assert result.warnings == ()
    return set(result.calls)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "import boto3\nboto3.client('dynamodb').put_item()",
            {("dynamodb", "PutItem")},
            id="direct-call",
        ),
        pytest.param(
            "import boto3\nSVC = 's3'\nc = boto3.client(service_name=SVC)\nc.list_buckets()",
            {("s3", "ListBuckets")},
            id="constant-service-name",
        ),
        pytest.param(
            "import boto3\nf = boto3.client('sqs').send_message\n",
            {("sqs", "SendMessage")},
            id="method-reference-counts",
        ),
        pytest.param(
            "import boto3\nimport botocore.session\n"
            "botocore.session.get_session().create_client('kms').decrypt()",
            {("kms", "Decrypt")},
            id="botocore-session",
        ),
        pytest.param(
            "import boto3\nc = boto3.client('s3')\nm = getattr(c, 'delete_object')\n",
            {("s3", "DeleteObject")},
            id="getattr-literal",
        ),
        pytest.param(
            "import boto3\nmake = lambda: boto3.client('sns')\nmake().publish()",
            {("sns", "Publish")},
            id="lambda-return",
        ),
        pytest.param(
            "import boto3\nclients = []\nclients.append(boto3.client('sqs'))\n"
            "for c in clients:\n    c.purge_queue()",
            {("sqs", "PurgeQueue")},
            id="list-append-then-loop",
        ),
        pytest.param(
            "import boto3\na, b = boto3.client('s3'), boto3.client('sqs')\nb.delete_queue()",
            {("sqs", "DeleteQueue")},
            id="tuple-unpacking-keeps-positions",
        ),
        pytest.param(
            "import boto3\ndef f(c=boto3.client('events')):\n    c.put_events()",
            {("events", "PutEvents")},
            id="default-argument",
        ),
        pytest.param(
            "import boto3\nclass Base:\n    client = boto3.client('sns')\n"
            "class Child(Base):\n    def go(self):\n        self.client.publish()",
            {("sns", "Publish")},
            id="inherited-class-attribute",
        ),
        pytest.param(
            "import boto3\nclass Store:\n    @property\n    def table(self):\n"
            "        return boto3.resource('dynamodb').Table('t')\n"
            "    def get(self):\n        return self.table.get_item()",
            {("dynamodb", "GetItem")},
            id="property",
        ),
        pytest.param(
            "import boto3\nclass Store:\n    @classmethod\n    def make(cls):\n"
            "        return boto3.client('ssm')\nStore.make().get_parameter()",
            {("ssm", "GetParameter")},
            id="classmethod",
        ),
        pytest.param(
            "import boto3\ndef outer():\n    c = boto3.client('kinesis')\n"
            "    def inner():\n        c.put_records()\n    return inner",
            {("kinesis", "PutRecords")},
            id="closure",
        ),
        pytest.param(
            "import boto3\nuse()\ndef use():\n    get().get_object()\n"
            "def get():\n    return boto3.client('s3')",
            {("s3", "GetObject")},
            id="use-before-definition",
        ),
        pytest.param(
            "import boto3\nfor o in boto3.resource('s3').Bucket('b').object_versions.all():\n"
            "    o.head()",
            {("s3", "ListObjectVersions"), ("s3", "HeadObject")},
            id="collection-item-actions",
        ),
        pytest.param(
            "import boto3\nboto3.resource('s3').Bucket('b').objects.filter(Prefix='x').delete()",
            {("s3", "ListObjects"), ("s3", "DeleteObjects")},
            id="collection-batch-action",
        ),
        pytest.param(
            "import boto3\nfor o in boto3.resource('s3').Bucket('b').objects.all():\n"
            "    print(o.key, o.size, o.last_modified)",
            {("s3", "ListObjects")},
            id="collection-items-are-loaded",
        ),
        pytest.param(
            "import boto3\nb = boto3.resource('s3').Bucket('b')\n"
            "b.wait_until_exists()\nprint(b.creation_date, b.name)",
            {("s3", "HeadBucket"), ("s3", "ListBuckets")},
            id="resource-waiter-and-lazy-load",
        ),
        pytest.param(
            "import boto3\nboto3.resource('s3').Bucket('b').upload_file('f', 'k')",
            {
                ("s3", "PutObject"),
                ("s3", "CreateMultipartUpload"),
                ("s3", "UploadPart"),
                ("s3", "CompleteMultipartUpload"),
                ("s3", "AbortMultipartUpload"),
            },
            id="resource-transfer-helper",
        ),
        pytest.param(
            "import boto3\nc = boto3.client('s3')\n"
            "c.can_paginate('list_objects')\nc.exceptions.NoSuchKey\nc.meta.region_name",
            set(),
            id="local-helpers-need-nothing",
        ),
        pytest.param(
            "import boto3\nc = boto3.client('s3')\nc.generate_presigned_post('b', 'k')\n"
            "c.generate_presigned_url(ClientMethod='put_object', Params={})",
            {("s3", "PutObject")},
            id="presigned-needs-the-signed-operation",
        ),
        pytest.param(
            "import boto3\nboto3.client('lambda').create_function(Role='r')",
            {("lambda", "CreateFunction"), ("iam", "PassRole")},
            id="pass-role-required",
        ),
        pytest.param(
            "import boto3\nboto3.client('cloudformation').create_stack(StackName='s')",
            {("cloudformation", "CreateStack")},
            id="optional-role-not-given",
        ),
        pytest.param(
            "import boto3\nboto3.client('cloudformation').create_stack(StackName='s', RoleARN='r')",
            {("cloudformation", "CreateStack"), ("iam", "PassRole")},
            id="optional-role-given",
        ),
        pytest.param(
            "import boto3\ndef f(**kw):\n    boto3.client('cloudformation').create_stack(**kw)",
            {("cloudformation", "CreateStack"), ("iam", "PassRole")},
            id="unknown-keywords-may-pass-a-role",
        ),
        pytest.param(
            "import boto3\ndef f(targets):\n    boto3.client('events').put_targets(Rule='r', Targets=targets)",
            {("events", "PutTargets"), ("iam", "PassRole")},
            id="nested-role-in-a-variable-may-be-passed",
        ),
        pytest.param(
            "import boto3\nboto3.client('events').put_targets(Rule='r', Targets=[dict(Id='1', Arn='a', RoleArn='r')])",
            {("events", "PutTargets"), ("iam", "PassRole")},
            id="nested-role-in-dict-call",
        ),
        pytest.param(
            "import boto3\ndef t():\n    return {}\n"
            "boto3.client('events').put_targets(Rule='r', Targets=[t()])",
            {("events", "PutTargets"), ("iam", "PassRole")},
            id="nested-role-from-a-call-may-be-passed",
        ),
        pytest.param(
            "import boto3\nboto3.client('sts').assume_role(RoleArn='r', RoleSessionName='s')",
            {("sts", "AssumeRole")},
            id="assuming-a-role-is-not-passing-it",
        ),
    ],
)
def test_patterns(source: str, expected: set[tuple[str, str]]) -> None:
    assert calls(source) == expected


def test_star_import_from_lib() -> None:
    found = calls(
        "from lib.aws import *\nTABLE.scan()\n",
        __init__="",
        aws="import boto3\nTABLE = boto3.resource('dynamodb').Table('t')\n",
    )
    assert found == {("dynamodb", "Scan")}


def test_unresolved_service_name_is_a_warning_with_its_line() -> None:
    result = analyze_files(
        {"app.py": "import boto3\nimport os\n\nc = boto3.client(os.environ['S'])\n"}
    )
    assert result.calls == frozenset()
    assert result.warnings == (
        "app.py:4: cannot resolve the service name of boto3.client(os.environ['S'])",
    )


def test_parameter_resolved_from_every_call_site() -> None:
    source = (
        "import boto3\ndef make(name):\n    return boto3.client(name)\nmake('sqs').list_queues()\n"
    )
    result = analyze_files({"app.py": source})
    assert result.calls == {("sqs", "ListQueues")}
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("source", "warning"),
    [
        ("boto3.client('s4')", "app.py:2: unknown AWS service 's4' in boto3.client('s4')"),
        ("boto3.client('s3').put_objekt()", "app.py:2: the 's3' client has no method 'put_objekt'"),
        (
            "boto3.client('s3').get_paginator(op)",
            "app.py:2: cannot resolve the paginator name of boto3.client('s3').get_paginator(op)",
        ),
        ("boto3.client('s3').get_waiter('nope')", "app.py:2: the 's3' client has no waiter 'nope'"),
        (
            "boto3.resource('lambda')",
            "app.py:2: boto3 has no resource API for 'lambda'; use boto3.client",
        ),
    ],
    ids=[
        "unknown-service",
        "unknown-method",
        "paginator-name",
        "unknown-waiter",
        "no-resource-api",
    ],
)
def test_warnings(source: str, warning: str) -> None:
    assert analyze_files({"app.py": f"import boto3\n{source}\n"}).warnings == (warning,)


def test_helper_given_clients_of_two_services_does_not_warn() -> None:
    source = (
        "import boto3\ndef tag(client):\n    client.tag_resource()\n    client.tag_queue()\n"
        "tag(boto3.client('sqs'))\ntag(boto3.client('lambda'))\n"
    )
    result = analyze_files({"app.py": source})
    assert result.calls == {("sqs", "TagQueue"), ("lambda", "TagResource")}
    assert result.warnings == ()


def test_method_no_client_has_names_every_candidate() -> None:
    source = "import boto3\nfor c in [boto3.client('sqs'), boto3.client('sns')]:\n    c.nope()\n"
    warnings = analyze_files({"app.py": source}).warnings
    assert warnings == ("app.py:3: the 'sns' or 'sqs' client has no method 'nope'",)


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(PolicyError, match=r"^lib/db.py:2: syntax error: "):
        analyze_files({"app.py": "x = 1\n", "lib/db.py": "import boto3\ndef f(:\n"})


def test_project_reads_app_and_lib_but_not_other_files(tmp_path) -> None:
    (tmp_path / "lib" / "sub").mkdir(parents=True)
    (tmp_path / "app.py").write_text("from lib.sub.q import push\n")
    (tmp_path / "lib" / "sub" / "q.py").write_text(
        "import boto3\ndef push():\n    boto3.client('sqs').send_message()\n"
    )
    (tmp_path / "tool.py").write_text("import boto3\nboto3.client('iam').delete_role()\n")
    result = analyze_project(tmp_path)
    assert result.calls == {("sqs", "SendMessage")}


def test_missing_app_file_is_a_policy_error(tmp_path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read 'main.py'.*--filename"):
        analyze_project(tmp_path, app_filename="main.py")


def test_lib_module_in_a_declared_encoding_is_read_as_python_would(tmp_path) -> None:
    # PEP 263: Python imports a module with a coding cookie; gen-policy must read it too.
    (tmp_path / "app.py").write_text("from lib.legacy import purge\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "legacy.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nimport boto3\n# caf\xe9\n"
        b"def purge():\n    boto3.client('sqs').purge_queue(QueueUrl='q')\n"
    )
    assert analyze_project(tmp_path).calls == {("sqs", "PurgeQueue")}


def test_undecodable_source_is_one_line_naming_the_encoding(tmp_path) -> None:
    (tmp_path / "app.py").write_bytes(b"import boto3\nname = '\xff'\n")
    with pytest.raises(PolicyError) as info:
        analyze_project(tmp_path)
    assert str(info.value).startswith("cannot read 'app.py' in ")
    assert "save it as UTF-8" in str(info.value)
    assert "\n" not in str(info.value)


LONG_CONCATENATION = " + ".join(f"'s{i}'" for i in range(2000))
DEEP_APP = f"""\
import boto3

X = {LONG_CONCATENATION}


def handler():
    boto3.client("s3").list_buckets()
"""


def test_a_long_expression_is_analysed() -> None:
    assert ("s3", "ListBuckets") in analyze_files({"app.py": DEEP_APP}).calls


def test_what_is_too_deep_to_analyse_is_a_warning_not_a_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With no headroom above the interpreter's own limit, the 2,000 levels are too deep.
    monkeypatch.setattr("deployer.policy.analyzer._RECURSION_LIMIT", 0)
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        analysis = analyze_files({"app.py": DEEP_APP})
    finally:
        sys.setrecursionlimit(before)
    assert ("s3", "ListBuckets") in analysis.calls
    assert analysis.warnings == (
        "app.py:3: too deeply nested to analyse: calls in it are not in the policy",
    )


def test_a_module_python_cannot_parse_is_one_line() -> None:
    deeper = "X = " + " + ".join(f"'s{i}'" for i in range(5000)) + "\n"
    with pytest.raises(PolicyError, match=r"^app.py: nested too deeply for Python to parse"):
        analyze_files({"app.py": deeper})
