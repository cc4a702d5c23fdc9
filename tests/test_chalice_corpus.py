"""The Chalice-layout corpus (``tests/chalice_projects/``): each project runs on fw with its
import lines changed and nothing else, packages, answers realistic events in AWS's runtime client,
and gen-policy finds the actions its code needs.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import importlib.metadata
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _iam_lint import assert_clean
from chalice_corpus import PROJECTS, Project, port_source, score
from click.testing import CliRunner
from lambda_runtime import LambdaError, LambdaRuntime, unavailable_reason

from cli.main import cli
from deployer.deploy.desired import function_name
from deployer.package.dependencies import CACHE_DIR
from deployer.policy.analyzer import analyze_project
from deployer.policy.role_policy import policy_from_calls
from microframework import sample_events

STAGE = "dev"
RUNTIME = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
IDS = [p.name for p in PROJECTS]


def port(project: Project, dest: Path) -> Path:
    """A copy of the project with its Chalice imports pointed at microframework."""
    shutil.copytree(project.path, dest)
    for path in dest.rglob("*.py"):
        path.write_text(port_source(path.read_text("utf-8")), "utf-8")
    return dest


# --- porting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_porting_changes_only_the_chalice_import_lines(project: Project, tmp_path: Path) -> None:
    ported = port(project, tmp_path / project.name)
    changed = 0
    for path in sorted(project.path.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(project.path)
        before = path.read_text("utf-8").splitlines()
        after = (ported / rel).read_text("utf-8").splitlines()
        for line in difflib.unified_diff(before, after, lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")):
                continue
            changed += 1
            assert re.match(r"[-+]\s*from (chalice|microframework)(\.app)? import ", line), (
                f"{rel}: {line}"
            )
    assert changed >= 2  # every project imports from chalice at least once
    # Nothing else names chalice: no ``chalice.`` attribute, no ``import chalice``.
    for path in ported.rglob("*.py"):
        assert not re.search(r"\bchalice\b(?!lib)", path.read_text("utf-8")), path


# --- gen-policy ------------------------------------------------------------------------------


def fw_actions(project_dir: Path) -> set[str]:
    analysis = analyze_project(project_dir)
    assert analysis.warnings == ()
    document = policy_from_calls(analysis.calls)
    assert_clean(document)  # parliament: every action exists, the document is well formed
    return {action for statement in document["Statement"][1:] for action in statement["Action"]}


@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_gen_policy_finds_what_the_project_needs(project: Project, tmp_path: Path) -> None:
    found = fw_actions(port(project, tmp_path / project.name))
    recall, precision = score(found, project.needs)
    assert (recall, precision) == (1.0, 1.0), (
        f"missing {sorted(project.needs - found)}, extra {sorted(found - project.needs)}"
    )


def test_gen_policy_recall_and_precision_over_the_corpus(tmp_path: Path) -> None:
    hits = found_total = needed = 0
    for project in PROJECTS:
        found = fw_actions(port(project, tmp_path / project.name))
        hits += len(found & project.needs)
        found_total += len(found)
        needed += len(project.needs)
    assert len(PROJECTS) >= 6
    assert hits / needed >= 0.95 and hits / found_total >= 0.90


# --- packaging and the runtime ---------------------------------------------------------------


def _wheel_of_installed(name: str, out: Path) -> Path:
    """A wheel rebuilt from an installed distribution (pure Python ones only).

    The corpus's PynamoDB project needs pynamodb and its dependencies in its zip; they are dev
    dependencies, installed here, so the tests repack them instead of asking an index.
    """
    dist = importlib.metadata.distribution(name)
    wheel_meta = dist.read_text("WHEEL") or ""
    tags = re.findall(r"^Tag: (\S+)-none-any$", wheel_meta, re.MULTILINE)
    assert tags, f"{name} is not pure Python"
    dist_name = dist.metadata["Name"].replace("-", "_")
    wheel = out / f"{dist_name}-{dist.version}-{'.'.join(tags)}-none-any.whl"
    if wheel.exists():
        return wheel
    info = f"{dist_name}-{dist.version}.dist-info"
    records = []
    partial = wheel.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or ():
            rel = file.as_posix()
            if rel.startswith("..") or "__pycache__" in rel or rel.endswith(".pyc"):
                continue
            if rel.split("/")[0].endswith(".dist-info"):
                if rel.rsplit("/", 1)[-1] not in ("METADATA", "WHEEL", "top_level.txt"):
                    continue
                rel = f"{info}/{rel.rsplit('/', 1)[-1]}"
            data = Path(str(file.locate())).read_bytes()
            archive.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{rel},sha256={digest.decode()},{len(data)}")
        records.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    partial.rename(wheel)
    return wheel


def _requirement_closure(name: str) -> list[str]:
    todo, seen = [name], []
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        for requirement in importlib.metadata.requires(current) or ():
            if "extra ==" in requirement:
                continue
            todo.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))  # type: ignore[union-attr]
    return seen


@pytest.fixture(scope="session")
def local_wheels(pytestconfig: pytest.Config) -> Iterator[Path]:
    """pip reads only these wheels while the corpus packages: no network, the same on CI.

    They are kept in pytest's cache folder, so later runs reuse them.
    """
    out = Path(pytestconfig.cache.mkdir("fw-corpus-wheels"))
    for name in _requirement_closure("pynamodb"):
        _wheel_of_installed(name, out)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIP_NO_INDEX", "1")
        patch.setenv("PIP_FIND_LINKS", str(out))
        yield out


class Packaged:
    """A ported project after ``fw package``: its zips and its functions by handler string."""

    def __init__(self, project_dir: Path, out: Path) -> None:
        result = CliRunner().invoke(cli, ["--project-dir", str(project_dir), "package", str(out)])
        assert result.exit_code == 0, result.output
        config = json.loads((project_dir / ".chalice" / "config.json").read_text())
        self.app_name = config["app_name"]
        self.zip_path = out / "deployment.zip"
        self.layers = tuple(out.glob("layer-deployment.zip"))
        template = json.loads((out / "sam.json").read_text())
        self.functions = {
            r["Properties"]["Handler"]: r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"
        }

    def start(self, handler: str, **env: str) -> LambdaRuntime:
        props = self.functions[handler]
        name = handler.rpartition(".")[2]
        variables = props.get("Environment", {}).get("Variables", {})
        return LambdaRuntime(
            self.zip_path,
            handler,
            layer_zips=self.layers,
            env={**variables, **env},
            function_name=function_name(self.app_name, STAGE, None if name == "app" else name),
            runtime=props["Runtime"],
        )


@pytest.fixture(scope="session")
def deps_cache(pytestconfig: pytest.Config) -> Path:
    """Where fw keeps the corpus's installed requirements across runs: pytest's cache folder.

    fw keys each tree by the requirements, runtime, architecture and pip version, so a stale
    tree is never reused, and pip runs only when one of those changes.
    """
    return Path(pytestconfig.cache.mkdir("fw-corpus-deps"))


def packaged(name: str, tmp: Path, deps_cache: Path) -> Packaged:
    project = next(p for p in PROJECTS if p.name == name)
    ported = port(project, tmp / name)
    if (ported / "requirements.txt").exists():
        (ported / CACHE_DIR).parent.mkdir(parents=True)
        (ported / CACHE_DIR).symlink_to(deps_cache, target_is_directory=True)
    return Packaged(ported, tmp / "out")


def rest(fn: LambdaRuntime, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    body = kwargs.pop("body", None)
    claims = kwargs.pop("claims", None)
    event = sample_events.apigateway_event(
        method, path, None if body is None else json.dumps(body), **kwargs
    )
    if claims is not None:
        # What API Gateway hands the function after a Cognito user pool authorizer.
        event["requestContext"]["authorizer"] = {"claims": claims}
    answer = fn.invoke(event)
    assert not isinstance(answer, LambdaError), f"{answer}\n{fn.logs()}"
    text = answer.get("body")
    if answer.get("isBase64Encoded"):
        text = base64.b64decode(text).decode("utf-8")
    return answer["statusCode"], json.loads(text) if text else None


def invoke(fn: LambdaRuntime, event: dict[str, Any]) -> Any:
    answer = fn.invoke(event)
    assert not isinstance(answer, LambdaError), f"{answer}\n{fn.logs()}"
    return answer


def _table(name: str, *keys: str, index: str | None = None) -> None:
    import boto3

    attributes = [*keys, *([index] if index else [])]
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": k, "KeyType": t}
            for k, t in zip(keys, ("HASH", "RANGE"), strict=False)
        ],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if index:
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": f"by-{index}",
                "KeySchema": [{"AttributeName": index, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    boto3.client("dynamodb").create_table(**params)


@RUNTIME
def test_todo_repository_runs_in_the_runtime(aws: str, tmp_path: Path, deps_cache: Path) -> None:
    package = packaged("todo_repository", tmp_path, deps_cache)
    assert list(package.functions) == ["app.app"]
    _table("todo-repository-dev", "username", "uid")
    item = {"resource": "/todos/{uid}", "headers": {"x-user": "ana"}}
    with package.start("app.app", AWS_ENDPOINT_URL=aws) as fn:
        status, created = rest(
            fn, "POST", "/todos", body={"description": "milk"}, headers=item["headers"]
        )
        assert status == 201
        one = {**item, "path_parameters": {"uid": created["uid"]}}
        assert rest(fn, "GET", f"/todos/{created['uid']}", **one)[1]["description"] == "milk"
        status, updated = rest(fn, "PUT", f"/todos/{created['uid']}", body={"state": "done"}, **one)
        assert (status, updated["state"]) == (200, "done")
        assert len(rest(fn, "GET", "/todos", headers=item["headers"])[1]) == 1
        assert rest(fn, "DELETE", f"/todos/{created['uid']}", **one)[0] == 204
        assert rest(fn, "GET", f"/todos/{created['uid']}", **one)[0] == 404
        assert rest(fn, "POST", "/todos", body={}, headers=item["headers"])[0] == 400


@RUNTIME
def test_media_labels_runs_in_the_runtime(aws: str, tmp_path: Path, deps_cache: Path) -> None:
    import boto3

    package = packaged("media_labels", tmp_path, deps_cache)
    assert sorted(package.functions) == ["app.on_labels", "app.on_upload"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="media-labels-uploads")
    s3.put_object(Bucket="media-labels-uploads", Key="incoming/cat.jpg", Body=b"\xff\xd8jpeg")
    topic = boto3.client("sns").create_topic(Name="media-labels-results")["TopicArn"]
    with package.start("app.on_upload", AWS_ENDPOINT_URL=aws, RESULTS_TOPIC_ARN=topic) as fn:
        found = invoke(fn, sample_events.s3_event("media-labels-uploads", "incoming/cat.jpg"))
    assert found["key"] == "incoming/cat.jpg" and found["labels"]  # moto's canned labels
    stored = s3.get_object(Bucket="media-labels-uploads", Key="labels/cat.jpg.json")
    assert json.loads(stored["Body"].read())["labels"] == found["labels"]
    message = json.dumps({"bucket": "media-labels-uploads", "key": "incoming/cat.jpg",
                          "labels": ["Person", "Cat"]})  # fmt: skip
    calm = json.dumps({"bucket": "media-labels-uploads", "key": "incoming/cat.jpg", "labels": []})
    with package.start("app.on_labels", AWS_ENDPOINT_URL=aws) as fn:
        event = sample_events.sns_event(message, "labels", "media-labels-results")
        assert invoke(fn, event) == {"flagged": "incoming/cat.jpg"}
        event = sample_events.sns_event(calm, "labels", "media-labels-results")
        assert invoke(fn, event) == {"flagged": None}
    assert s3.head_object(Bucket="media-labels-uploads", Key="review/cat.jpg")["ContentLength"] == 6


@RUNTIME
def test_orders_blueprints_run_in_the_runtime(aws: str, tmp_path: Path, deps_cache: Path) -> None:
    import boto3

    package = packaged("orders_blueprints", tmp_path, deps_cache)
    assert sorted(package.functions) == ["app.app", "app.fulfil_orders"]
    _table("orders", "order_id")
    queue_url = boto3.client("sqs").create_queue(QueueName="orders-queue")["QueueUrl"]
    with package.start("app.app", AWS_ENDPOINT_URL=aws) as fn:
        assert rest(fn, "GET", "/health") == (200, {"status": "ok"})
        status, placed = rest(fn, "POST", "/v1/orders", body={"sku": "pen", "qty": 2})
        assert status == 202
        one = {
            "resource": "/v1/orders/{order_id}",
            "path_parameters": {"order_id": placed["order_id"]},
        }
        assert rest(fn, "GET", f"/v1/orders/{placed['order_id']}", **one)[0] == 404
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    event = sample_events.sqs_event([message["Body"]], "orders-queue")
    with package.start("app.fulfil_orders", AWS_ENDPOINT_URL=aws) as fn:
        assert invoke(fn, event) == {"accepted": [placed["order_id"]]}
    with package.start("app.app", AWS_ENDPOINT_URL=aws) as fn:
        status, order = rest(fn, "GET", f"/v1/orders/{placed['order_id']}", **one)
        assert (status, order["status"], order["sku"]) == (200, "accepted", "pen")


@RUNTIME
def test_notes_pynamodb_runs_in_the_runtime_with_pynamodb_in_the_zip(
    aws: str, tmp_path: Path, deps_cache: Path, local_wheels: Path
) -> None:
    package = packaged("notes_pynamodb", tmp_path, deps_cache)
    with zipfile.ZipFile(package.zip_path) as archive:
        names = set(archive.namelist()) | {
            n for layer in package.layers for n in zipfile.ZipFile(layer).namelist()
        }
    assert any(n.endswith("pynamodb/models.py") for n in names)
    _table("notes-dev", "note_id", index="owner")
    with package.start("app.app", AWS_ENDPOINT_URL=aws) as fn:
        status, note = rest(fn, "POST", "/notes", body={"owner": "ana", "text": "hi"})
        assert (status, note["text"]) == (201, "hi")
        one = {"resource": "/notes/{note_id}", "path_parameters": {"note_id": note["note_id"]}}
        assert rest(fn, "GET", f"/notes/{note['note_id']}", **one) == (200, note)
        status, edited = rest(fn, "PUT", f"/notes/{note['note_id']}", body={"text": "yo"}, **one)
        assert (status, edited["text"], edited["edits"]) == (200, "yo", 1)
        batch = [{"owner": "ana", "text": "a"}, {"owner": "bo", "text": "b"}]
        assert rest(fn, "POST", "/notes/import", body=batch) == (200, {"imported": 2})
        owner = {"resource": "/owners/{owner}/notes", "path_parameters": {"owner": "ana"}}
        assert len(rest(fn, "GET", "/owners/ana/notes", **owner)[1]) == 2
        assert rest(fn, "GET", "/stats")[0] == 200
        assert rest(fn, "DELETE", f"/notes/{note['note_id']}", **one)[0] == 204
        assert rest(fn, "GET", f"/notes/{note['note_id']}", **one)[0] == 404


@RUNTIME
def test_profiles_cognito_runs_in_the_runtime(aws: str, tmp_path: Path, deps_cache: Path) -> None:
    import boto3

    package = packaged("profiles_cognito", tmp_path, deps_cache)
    _table("profiles", "sub")
    boto3.client("s3").create_bucket(Bucket="profiles-avatars")
    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="profiles")["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username="bo")
    ana = {"sub": "u-1", "email": "ana@example.com", "cognito:groups": "admins"}
    bo = {"sub": "u-2", "email": "bo@example.com"}
    with package.start("app.app", AWS_ENDPOINT_URL=aws, USER_POOL_ID=pool) as fn:
        assert rest(fn, "GET", "/me", claims=bo) == (200, {"sub": "u-2", "email": "bo@example.com"})
        status, saved = rest(fn, "PUT", "/me", body={"display_name": "Bo"}, claims=bo)
        assert (status, saved) == (200, {"sub": "u-2", "display_name": "Bo"})
        assert rest(fn, "GET", "/me", claims=bo)[1] == saved
        assert "profiles-avatars" in rest(fn, "POST", "/me/avatar", claims=bo)[1]["url"]
        assert rest(fn, "GET", "/admin/users", claims=bo)[0] == 403
        assert rest(fn, "GET", "/admin/users", claims=ana) == (200, ["bo"])
        user = {
            "resource": "/admin/users/{username}/disable",
            "path_parameters": {"username": "bo"},
        }
        assert rest(fn, "POST", "/admin/users/bo/disable", claims=ana, **user)[0] == 200
    assert idp.admin_get_user(UserPoolId=pool, Username="bo")["Enabled"] is False


@RUNTIME
def test_nightly_jobs_run_in_the_runtime(aws: str, tmp_path: Path, deps_cache: Path) -> None:
    import boto3

    package = packaged("nightly_jobs", tmp_path, deps_cache)
    assert sorted(package.functions) == ["app.app", "app.hourly_report", "app.nightly_cleanup"]
    _table("sessions", "session_id")
    ddb = boto3.client("dynamodb")
    for sid, seen in (("old", "100"), ("new", "9999999999")):
        ddb.put_item(
            TableName="sessions", Item={"session_id": {"S": sid}, "last_seen": {"N": seen}}
        )
    boto3.client("ssm").put_parameter(Name="/nightly-jobs/session-ttl", Value="3600", Type="String")
    topic = boto3.client("sns").create_topic(Name="nightly-reports")["TopicArn"]
    env = {"AWS_ENDPOINT_URL": aws, "REPORT_TOPIC_ARN": topic}
    with package.start("app.nightly_cleanup", **env) as fn:
        assert invoke(fn, sample_events.schedule_event("nightly-jobs-dev-nightly_cleanup")) == {
            "removed": 1
        }
        assert '"elapsed_ms"' in fn.logs()  # the middleware ran around the handler
    with package.start("app.hourly_report", **env) as fn:
        event = sample_events.schedule_event("nightly-jobs-dev-hourly_report")
        assert invoke(fn, event) == {"active_sessions": 1}
    with package.start("app.app", **env) as fn:
        assert rest(fn, "GET", "/status") == (200, {"threshold": 3600})
