"""The zips ``fw package`` builds, run in AWS's own runtime client (awslambdaric).

moto never runs code: these tests are what shows that a packaged function imports and answers
in Lambda's Python runtime, from a read-only task root with only the zip, the stdlib and boto3
importable (see tests/lambda_runtime.py). Each app is packaged once per module, and each function
runs in one runtime process that answers several events, as a warm Lambda instance does.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from _dists import make_wheel, write_requirements
from click.testing import CliRunner
from lambda_runtime import ACCOUNT, LambdaError, LambdaRuntime, unavailable_reason

from cli.main import cli
from deployer.deploy.desired import function_name
from deployer.package.build import collect_function_files, write_zip
from microframework import sample_events

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
STAGE = "dev"


# --- packaging -------------------------------------------------------------------------------


@attrs.frozen
class Function:
    """One function of a SAM template that ``fw package`` wrote."""

    logical_id: str
    handler: str
    runtime: str
    memory_size: int
    environment: dict[str, str]


@attrs.frozen
class Package:
    app_name: str
    zip_path: Path
    layer_zips: tuple[Path, ...]
    functions: dict[str, Function]  # by handler string, as Lambda names the entry point

    def start(self, handler: str, **env: str) -> LambdaRuntime:
        function = self.functions[handler]
        name = handler.rpartition(".")[2]
        return LambdaRuntime(
            self.zip_path,
            function.handler,
            layer_zips=self.layer_zips,
            env={**function.environment, **env},
            function_name=function_name(self.app_name, STAGE, None if name == "app" else name),
            memory_size=function.memory_size,
            runtime=function.runtime,
        )


def lambda_zip_violations(zip_path: Path) -> list[str]:
    """Entries that break Lambda's rule for a Python package: files world-readable (644),
    folders world-readable and traversable (755).

    Source: AWS Knowledge Center, "How do I troubleshoot 'permission denied' or 'unable to
    import module' errors when uploading a Lambda deployment package?" ("Lambda requires global
    read permissions on code files and any dependent libraries"), and "Troubleshoot deployment
    issues in Lambda", section "General: Permission is denied / Cannot load such file".
    """
    problems = []
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if info.create_system != 3 or not mode:
                problems.append(f"{info.filename}: no Unix mode recorded")
            elif info.is_dir() and (not stat.S_ISDIR(mode) or mode & 0o005 != 0o005):
                problems.append(f"{info.filename}: folder mode {stat.filemode(mode)}")
            elif not info.is_dir() and (not stat.S_ISREG(mode) or not mode & 0o004):
                problems.append(f"{info.filename}: file mode {stat.filemode(mode)}")
    return problems


def package(project: Path, out: Path) -> Package:
    """``fw package`` through the CLI, its zips checked against Lambda's permission rules."""
    result = CliRunner().invoke(cli, ["--project-dir", str(project), "package", str(out)])
    assert result.exit_code == 0, result.output
    zips = [out / "deployment.zip", *out.glob("layer-deployment.zip")]
    for zip_path in zips:
        assert lambda_zip_violations(zip_path) == []
    template = json.loads((out / "sam.json").read_text())
    functions = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        functions[props["Handler"]] = Function(
            logical_id=logical_id,
            handler=props["Handler"],
            runtime=props["Runtime"],
            memory_size=props["MemorySize"],
            environment=props.get("Environment", {}).get("Variables", {}),
        )
    config = json.loads((project / ".fw" / "config.json").read_text())
    return Package(config["app_name"], zips[0], tuple(zips[1:]), functions)


def make_project(root: Path, app: str, files: dict[str, str] | None = None, **config: Any) -> Path:
    (root / ".fw").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(app))
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    settings = {"version": "1.0", "app_name": root.name, "stages": {STAGE: {}}, **config}
    (root / ".fw" / "config.json").write_text(json.dumps(settings))
    return root


def package_sample(name: str, tmp: Path) -> Package:
    # Packaging writes its cache into the project: work on a copy.
    return package(shutil.copytree(SAMPLES / name, tmp / name), tmp / "out")


def rest(fn: LambdaRuntime, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Invoke the REST handler with API Gateway's proxy event; the status and the JSON body."""
    body = kwargs.pop("body", None)
    event = sample_events.apigateway_event(
        method, path, None if body is None else json.dumps(body), **kwargs
    )
    answer = fn.invoke(event)
    assert not isinstance(answer, LambdaError), f"{answer}\n{fn.logs()}"
    text = answer.get("body")
    if answer.get("isBase64Encoded"):
        text = base64.b64decode(text).decode("utf-8")
    return answer["statusCode"], json.loads(text) if text else None


# --- the samples -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return package_sample("hello", tmp_path_factory.mktemp("hello"))


@pytest.fixture(scope="module")
def todo(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return package_sample("todo", tmp_path_factory.mktemp("todo"))


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return package_sample("events", tmp_path_factory.mktemp("events"))


def test_hello_sample_answers_in_the_runtime(hello: Package) -> None:
    assert list(hello.functions) == ["app.app"]
    with hello.start("app.app") as fn:
        assert rest(fn, "GET", "/") == (200, {"hello": "world"})
        params = {"resource": "/hello/{name}", "path_parameters": {"name": "lambda"}}
        assert rest(fn, "GET", "/hello/lambda", **params) == (200, {"hello": "lambda"})


def test_todo_sample_stores_and_reads_items_through_boto3(todo: Package, aws: str) -> None:
    import boto3

    table = todo.functions["app.app"].environment["TABLE_NAME"]
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"resource": "/todos/{todo_id}"}
    # The endpoint stands in for DynamoDB's; everything else is what Lambda sets.
    with todo.start("app.app", AWS_ENDPOINT_URL=aws) as fn:
        status, created = rest(fn, "POST", "/todos", body={"title": "buy milk"})
        assert status == 201 and created["title"] == "buy milk" and created["done"] is False
        ident = {"path_parameters": {"todo_id": created["id"]}, **item}
        assert rest(fn, "GET", f"/todos/{created['id']}", **ident) == (200, created)
        status, updated = rest(fn, "PUT", f"/todos/{created['id']}", body={"done": True}, **ident)
        assert (status, updated["done"]) == (200, True)
        assert rest(fn, "GET", "/todos") == (200, {"todos": [updated]})
        assert rest(fn, "POST", "/todos", body={"title": ""})[0] == 400
        assert rest(fn, "DELETE", f"/todos/{created['id']}", **ident) == (204, None)
        assert rest(fn, "GET", f"/todos/{created['id']}", **ident)[0] == 404


def test_every_function_of_the_events_sample_answers_its_event(events: Package) -> None:
    jobs = sample_events.sqs_event(["resize a.png", "poison", "resize b.png"], "fw-sample-jobs")
    poison_id = jobs["Records"][1]["messageId"]
    cases: dict[str, list[tuple[dict[str, Any], Any]]] = {
        "app.on_upload": [
            (
                sample_events.s3_event("fw-sample-uploads", "in/q 1.csv"),
                {"kind": "s3", "bucket": "fw-sample-uploads", "key": "in/q 1.csv"},
            )
        ],
        "app.on_job": [
            (jobs, {"batchItemFailures": [{"itemIdentifier": poison_id}]}),
            (sample_events.sqs_event(["fine"], "fw-sample-jobs"), None),
        ],
        "app.on_news": [
            (
                sample_events.sns_event("rates up", "Markets", "fw-sample-news"),
                {"kind": "sns", "subject": "Markets", "message": "rates up"},
            )
        ],
        "app.every_quarter_hour": [
            (
                sample_events.schedule_event("events-dev-every_quarter_hour"),
                {"kind": "schedule", "rule": "events-dev-every_quarter_hour"},
            )
        ],
    }
    # The handler strings come from the template: a new handler without a case fails here.
    assert sorted(events.functions) == sorted(cases)
    for handler, invocations in cases.items():
        with events.start(handler) as fn:
            for event, expected in invocations:
                answer = fn.invoke(event)
                if isinstance(expected, dict) and "kind" in expected:
                    assert expected.items() <= answer.items(), fn.logs()
                else:
                    assert answer == expected, fn.logs()


# --- every trigger kind ----------------------------------------------------------------------

TRIGGERS_APP = """\
import os

from microframework import App, AuthResponse, BadRequestError, Rate, Response

app = App("triggers")


@app.authorizer()
def gate(auth_request):
    if auth_request.token == "allow":
        return AuthResponse(routes=["/items/*"], principal_id="alice", context={"tier": "gold"})
    return AuthResponse(routes=[], principal_id="anonymous")


@app.route("/items/{item_id}", authorizer=gate)
def get_item(item_id):
    request = app.current_request
    return {"id": item_id, "query": request.query_params, "greeting": os.environ["GREETING"]}


@app.route("/items", methods=["POST"])
def create_item():
    body = app.current_request.json_body
    if not isinstance(body, dict) or "name" not in body:
        raise BadRequestError("'name' is required")
    return Response({"created": body["name"]}, status_code=201)


@app.route("/boom")
def boom():
    raise RuntimeError("the view failed")


@app.on_sqs_message(queue="jobs", batch_size=10)
def on_job(event):
    for record in event:
        if record.body == "poison":
            event.report_failure(record)


@app.on_s3_event(bucket="uploads")
def on_upload(event):
    return {"bucket": event.bucket, "key": event.key, "event": event.event_name}


@app.on_sns_message(topic="news")
def on_news(event):
    return {"subject": event.subject, "message": event.message}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def tick(event):
    return {"source": event.source, "rule": event.resources[0]}


@app.on_cw_event({"source": ["aws.ec2"]})
def on_ec2(event):
    return {"source": event.source, "type": event.detail_type, "detail": event.detail}


@app.on_kinesis_record(stream="clicks")
def on_click(event):
    return [record.data.decode("utf-8") for record in event]


@app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x")
def on_change(event):
    return [{"table": r.table_name, "name": r.event_name, "new": r.new_image} for r in event]


@app.lambda_function()
def plain(event, context):
    return {"echo": event, "function": context.function_name}


@app.lambda_function()
def stall(event, context):
    import time

    time.sleep(event["seconds"])


@app.lambda_function()
def probe(event, context):
    import importlib
    import sys

    import boto3
    import microframework

    imports = {}
    for name in event["imports"]:
        try:
            importlib.import_module(name)
            imports[name] = "imported"
        except ImportError as err:
            imports[name] = type(err).__name__
    try:
        open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "app.py"), "a").close()
        written = "written"
    except OSError as err:
        written = err.strerror
    return {
        "imports": imports,
        "path": sys.path,
        "microframework": microframework.__file__,
        "boto3": boto3.__file__,
        "cwd": os.getcwd(),
        "write": written,
        "env": {name: os.environ.get(name) for name in event["env"]},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
    }
"""


@pytest.fixture(scope="module")
def triggers(tmp_path_factory: pytest.TempPathFactory) -> Package:
    tmp = tmp_path_factory.mktemp("triggers")
    project = make_project(
        tmp / "triggers", TRIGGERS_APP, environment_variables={"GREETING": "hello"}
    )
    return package(project, tmp / "out")


def test_the_template_lists_one_function_per_handler(triggers: Package) -> None:
    handlers = {"app.app", "app.gate", "app.on_job", "app.on_upload", "app.on_news", "app.tick"}
    handlers |= {"app.on_ec2", "app.on_click", "app.on_change", "app.plain", "app.probe"}
    handlers |= {"app.stall"}
    assert set(triggers.functions) == handlers


def test_rest_handler_answers_with_the_stage_environment(triggers: Package) -> None:
    item = {"resource": "/items/{item_id}", "path_parameters": {"item_id": "42"}}
    with triggers.start("app.app") as fn:
        status, body = rest(fn, "GET", "/items/42?color=red", **item)
        assert (status, body) == (200, {"id": "42", "query": {"color": "red"}, "greeting": "hello"})
        assert rest(fn, "POST", "/items", body={"name": "pen"}) == (201, {"created": "pen"})
        status, body = rest(fn, "POST", "/items", body={})
        assert (status, body["Code"]) == (400, "BadRequestError")


def test_a_failing_view_is_the_apps_500_not_a_runtime_error(triggers: Package) -> None:
    with triggers.start("app.app") as fn:
        status, body = rest(fn, "GET", "/boom")
        assert (status, body) == (
            500,
            {"Code": "InternalServerError", "Message": "An internal server error occurred."},
        )
        assert "the view failed" in fn.logs()  # logged, not sent
        assert rest(fn, "POST", "/items", body={"name": "next"})[0] == 201  # still serving


def test_sqs_handler_answers_a_partial_batch_failure(triggers: Package) -> None:
    batch = sample_events.sqs_event(["one", "poison", "two", "poison"], "jobs")
    failed = [{"itemIdentifier": batch["Records"][i]["messageId"]} for i in (1, 3)]
    with triggers.start("app.on_job") as fn:
        assert fn.invoke(batch) == {"batchItemFailures": failed}
        assert fn.invoke(sample_events.sqs_event(["fine"], "jobs")) is None


@pytest.mark.parametrize(
    ("handler", "event", "expected"),
    [
        (
            "app.on_upload",
            sample_events.s3_event("uploads", "photos/my cat.jpg"),
            {"bucket": "uploads", "key": "photos/my cat.jpg", "event": "ObjectCreated:Put"},
        ),
        (
            "app.on_news",
            sample_events.sns_event("all good", "Status", "news"),
            {"subject": "Status", "message": "all good"},
        ),
        (
            "app.tick",
            sample_events.schedule_event("triggers-dev-tick"),
            {
                "source": "aws.events",
                "rule": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/triggers-dev-tick",
            },
        ),
        (
            "app.on_ec2",
            sample_events.cw_event("aws.ec2", "EC2 Instance State-change Notification", {"s": 1}),
            {
                "source": "aws.ec2",
                "type": "EC2 Instance State-change Notification",
                "detail": {"s": 1},
            },
        ),
        ("app.on_click", sample_events.kinesis_event(["a", "é"], "clicks"), ["a", "é"]),
        (
            "app.on_change",
            sample_events.dynamodb_event([{"id": {"S": "7"}}], "t", "MODIFY"),
            [{"table": "t", "name": "MODIFY", "new": {"id": {"S": "7"}}}],
        ),
        (
            "app.plain",
            {"any": ["json", 1]},
            {"echo": {"any": ["json", 1]}, "function": "triggers-dev-plain"},
        ),
    ],
    ids=["s3", "sns", "schedule", "cloudwatch", "kinesis", "dynamodb", "lambda_function"],
)
def test_event_handler_answers_a_generated_event(
    triggers: Package, handler: str, event: dict[str, Any], expected: Any
) -> None:
    with triggers.start(handler) as fn:
        assert fn.invoke(event) == expected, fn.logs()
        assert fn.invoke(event) == expected  # warm: the same process answers again


def test_builtin_authorizer_answers_api_gateways_token_event(triggers: Package) -> None:
    # "Input to an API Gateway Lambda authorizer": a TOKEN authorizer gets the header's value
    # and the ARN of the method called.
    method_arn = f"arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2c3/api/GET/items/42"
    with triggers.start("app.gate") as fn:
        allowed = fn.invoke(
            {"type": "TOKEN", "authorizationToken": "allow", "methodArn": method_arn}
        )
        denied = fn.invoke({"type": "TOKEN", "authorizationToken": "x", "methodArn": method_arn})
    assert allowed["principalId"] == "alice" and allowed["context"] == {"tier": "gold"}
    (statement,) = allowed["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [
        f"arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2c3/api/*/items/*"
    ]
    assert denied["policyDocument"]["Statement"][0]["Resource"] == []


def test_a_hung_function_fails_the_test_instead_of_hanging_it(triggers: Package) -> None:
    with triggers.start("app.stall") as fn:
        assert fn.invoke({"seconds": 0}) is None
        with pytest.raises(TimeoutError, match="no answer to .* within 0.3 s"):
            fn.invoke({"seconds": 30}, timeout=0.3)


def test_function_sees_only_the_zip_the_stdlib_and_boto3(triggers: Package) -> None:
    outside = ["click", "attrs", "requests", "pytest", "moto", "deployer", "cli", "yaml"]
    names = ["_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_FUNCTION_NAME"]
    names += ["AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "GREETING"]
    with triggers.start("app.probe") as fn:
        facts = fn.invoke({"imports": [*outside, "json", "boto3"], "env": names})
    assert facts["imports"] == {
        **dict.fromkeys(outside, "ModuleNotFoundError"),
        "json": "imported",
        "boto3": "imported",
    }
    env = facts["env"]
    task, runtime_dir = env["LAMBDA_TASK_ROOT"], env["LAMBDA_RUNTIME_DIR"]
    assert facts["microframework"] == f"{task}/microframework/__init__.py"
    assert facts["boto3"].startswith(f"{runtime_dir}/boto3/")
    assert facts["cwd"] == task and facts["path"][0] == task
    assert facts["write"] in ("Permission denied", "Read-only file system")
    assert env["_HANDLER"] == "app.probe" and env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "triggers-dev-probe"
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{triggers.functions['app.probe'].runtime}"
    assert facts["arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:triggers-dev-probe"
    assert 0 < facts["remaining_ms"] <= 20_000


# --- an automatic layer ----------------------------------------------------------------------

LAYERED_APP = """\
from microframework import App

app = App("layered")


@app.route("/")
def index():
    # A requirement: only the layer holds it.
    import purepkg

    return {"version": purepkg.VERSION, "file": purepkg.__file__}
"""


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory) -> Package:
    tmp = tmp_path_factory.mktemp("layered")
    project = make_project(tmp / "layered", LAYERED_APP, automatic_layer=True)
    make_wheel(project / "wheels", "purepkg", "2.5")
    write_requirements(project, "purepkg==2.5")
    return package(project, tmp / "out")


def test_requirement_in_the_automatic_layer_is_imported_from_opt_python(layered: Package) -> None:
    assert len(layered.layer_zips) == 1
    with zipfile.ZipFile(layered.zip_path) as archive:
        assert not any(n.startswith("purepkg") for n in archive.namelist())
    with layered.start("app.app") as fn:
        status, body = rest(fn, "GET", "/")
    assert (status, body["version"]) == (200, "2.5")
    assert body["file"].endswith("/opt/python/purepkg/__init__.py")


# --- failures the runtime reports -------------------------------------------------------------


def _zip(tmp: Path, app: str) -> Path:
    """A zip written by fw's own zip writer: ``app`` and the runtime it needs, chosen as fw
    package chooses them (from its code, without importing it)."""
    (tmp / "app.py").write_text(app)
    path = tmp / "deployment.zip"
    write_zip(collect_function_files(tmp), path)
    assert lambda_zip_violations(path) == []
    return path


def test_app_failing_at_import_is_reported_on_init_error(tmp_path: Path) -> None:
    path = _zip(tmp_path, "import not_packaged_anywhere\n\napp = None\n")
    with LambdaRuntime(path, "app.app") as fn:
        error = fn.invoke({})
    assert isinstance(error, LambdaError) and error.phase == "init"
    assert error.error_type == error.header_type == "Runtime.ImportModuleError"
    assert error.error_message == (
        "Unable to import module 'app': No module named 'not_packaged_anywhere'"
    )


@pytest.mark.skipif(
    getattr(os, "geteuid", lambda: -1)() != 0,
    reason="only as root (as in CI) are the unpacked files someone else's: 'other' bits apply",
)
def test_an_entry_lambda_cannot_read_fails_as_on_lambda(hello: Package, tmp_path: Path) -> None:
    # The rule the zip assertions above enforce, shown in the runtime: an owner-only app.py.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(hello.zip_path) as source, zipfile.ZipFile(broken, "w") as out:
        for info in source.infolist():
            if info.filename == "app.py":
                info.external_attr = (stat.S_IFREG | 0o600) << 16
            out.writestr(info, source.read(info))
    assert lambda_zip_violations(broken) == ["app.py: file mode -rw-------"]
    with LambdaRuntime(broken, "app.app") as fn:
        error = fn.invoke(sample_events.apigateway_event("GET", "/"))
    assert isinstance(error, LambdaError) and error.phase == "init"
    assert error.error_type == "PermissionError", error


# --- modules beside app.py --------------------------------------------------------------------


def _helped(tmp: Path, app: str, files: dict[str, str]) -> Package:
    return package(make_project(tmp / "helped", app, files), tmp / "out")


def test_helper_module_beside_app_py_is_importable(tmp_path: Path) -> None:
    app = """\
        from microframework import App

        import helpers

        app = App("helped")


        @app.route("/")
        def index():
            return {"greeting": helpers.greet("lambda")}
        """
    helpers = "def greet(who):\n    return f'hello {who}'\n"
    helped = _helped(tmp_path, app, {"helpers.py": helpers})
    with helped.start("app.app") as fn:
        assert rest(fn, "GET", "/") == (200, {"greeting": "hello lambda"})


def test_chalicelib_package_is_importable(tmp_path: Path) -> None:
    app = """\
        from microframework import App

        from chalicelib.words import WHO

        app = App("helped")


        @app.lambda_function()
        def who(event, context):
            return WHO
        """
    files = {"chalicelib/__init__.py": "", "chalicelib/words.py": "WHO = 'lambda'\n"}
    helped = _helped(tmp_path, app, files)
    with helped.start("app.who") as fn:
        assert fn.invoke({}) == "lambda"


def test_a_new_projects_app_log_info_reaches_the_functions_log(tmp_path: Path) -> None:
    # The events template's app sets log_level INFO: Lambda sends what it prints to CloudWatch.
    from cli.commands.new_project import create_project
    from deployer.project.runtimes import pin_runtime

    project = create_project(tmp_path, "fresh", "events", runtime=pin_runtime().runtime)
    fresh = package(project, tmp_path / "out")
    with fresh.start("app.every_hour") as fn:
        answer = fn.invoke(sample_events.schedule_event())
        assert not isinstance(answer, LambdaError), fn.logs()
        assert "fresh - INFO - scheduled run at " in fn.logs()
