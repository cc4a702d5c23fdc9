"""Time fw's policy analysis against chalice's on a generated ~2,000-line app, and score both
analyzers on the policy corpus (``tests/gen_policy_corpus.py``) and on the Chalice-layout
projects (``tests/chalice_projects/``, needs in ``tests/chalice_corpus.py``).

Run: ``.venv/bin/python benchmarks/bench_gen_policy.py [--lines 2000] [--repeat 5]``.
chalice is only an oracle here (a dev dependency), never imported by fw itself.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

_CLIENT_CALLS = [
    ("dynamodb", "put_item(TableName='t', Item={})"),
    ("s3", "put_object(Bucket='b', Key='k', Body=b'')"),
    ("sqs", "send_message(QueueUrl='q', MessageBody='m')"),
    ("sns", "publish(TopicArn='t', Message='m')"),
    ("stepfunctions", "start_execution(stateMachineArn='a')"),
    ("lambda", "invoke(FunctionName='f')"),
    ("kinesis", "put_record(StreamName='s', Data=b'', PartitionKey='p')"),
    ("secretsmanager", "get_secret_value(SecretId='s')"),
]

_BLOCK = '''

{client_var} = boto3.client("{service}")


def get_table_{i}():
    return boto3.resource("dynamodb").Table("table-{i}")


class Repository{i}:
    """Data access for block {i}."""

    def __init__(self, name):
        self.name = name
        self.table = get_table_{i}()
        self.bucket = boto3.resource("s3").Bucket("bucket-{i}")

    def save(self, item):
        item = dict(item, owner=self.name)
        self.table.put_item(Item=item)
        return item

    def keys(self, prefix):
        return [obj.key for obj in self.bucket.objects.filter(Prefix=prefix)]


def helper_{i}(client, payload):
    if not payload:
        return None
    return client.{call}


@app.route("/items{i}/{{item_id}}", methods=["GET", "PUT"])
def view_{i}(item_id):
    repo = Repository{i}("user-{i}")
    body = app.current_request.json_body or {{}}
    result = helper_{i}({client_var}, body)
    for page in {client_var}.get_paginator("{paginator}").paginate():
        body["pages"] = body.get("pages", 0) + 1
    repo.save({{"id": item_id, **body}})
    return {{"result": str(result), "keys": repo.keys(item_id)}}
'''

_PAGINATORS = {
    "dynamodb": "scan",
    "s3": "list_objects_v2",
    "sqs": "list_queues",
    "sns": "list_topics",
    "stepfunctions": "list_executions",
    "lambda": "list_functions",
    "kinesis": "list_streams",
    "secretsmanager": "list_secrets",
}


def generate_app(lines: int) -> str:
    """An app of about ``lines`` lines mixing clients, resources, classes and helpers."""
    parts = [
        '"""Generated benchmark app."""\nimport boto3\nfrom microframework import App\n\n'
        'app = App("bench")\n'
    ]
    i = 0
    while sum(p.count("\n") for p in parts) < lines:
        service, call = _CLIENT_CALLS[i % len(_CLIENT_CALLS)]
        parts.append(
            _BLOCK.format(
                i=i,
                service=service,
                call=call,
                client_var=f"client_{i}",
                paginator=_PAGINATORS[service],
            )
        )
        i += 1
    return "".join(parts)


def _fw_actions(files: dict[str, str]) -> set[str]:
    from deployer.policy.analyzer import analyze_files
    from deployer.policy.role_policy import policy_from_calls

    document = policy_from_calls(analyze_files(files).calls)
    return {a for s in document["Statement"][1:] for a in s["Action"]}


def _as_chalice_views(source: str) -> str:
    """Decorate every undecorated top-level function as a chalice view.

    chalice's analyzer only enters functions decorated like ``@app.route(...)``; marking every
    entry point this way is the most generous reading of the corpus for it.
    """
    lines = source.splitlines(keepends=True)
    for node in reversed(ast.parse(source).body):
        if isinstance(node, ast.FunctionDef) and not node.decorator_list:
            lines.insert(node.lineno - 1, "@app.lambda_function()\n")
    return "".join(lines)


def _chalice_actions(files: dict[str, str], *, mark_views: bool = False) -> set[str]:
    from chalice.policy import policy_from_source_code

    source = _as_chalice_views(files["app.py"]) if mark_views else files["app.py"]
    # chalice reads only app.py, and prints a line for services it has no table for.
    with contextlib.redirect_stdout(io.StringIO()):
        document = policy_from_source_code(source)
    return {a for s in document["Statement"] for a in s["Action"]}


def score(actions_of) -> tuple[float, float, int]:
    """Micro-averaged recall and precision over the corpus, and the count of exact cases."""
    from gen_policy_corpus import CORPUS

    hits = found_total = expected_total = exact = 0
    for case in CORPUS:
        try:
            found = actions_of(case.files)
        except Exception:  # noqa: BLE001 - an analyzer crash scores as finding nothing
            found = set()
        hits += len(found & case.expected)
        found_total += len(found)
        expected_total += len(case.expected)
        exact += found == case.expected
    precision = hits / found_total if found_total else 1.0
    return hits / expected_total, precision, exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    source = generate_app(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "app.py").write_text(source)

        start = time.perf_counter()
        from deployer.policy.role_policy import generate_policy

        result = generate_policy(project)
        cold = time.perf_counter() - start
        warm = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            generate_policy(project)
            warm.append(time.perf_counter() - start)
        # The whole command as a user runs it: a fresh interpreter, imports, models, JSON out.
        command = [sys.executable, "-m", "cli.main", "--project-dir", tmp, "gen-policy"]
        process = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
            process.append(time.perf_counter() - start)

    from chalice.policy import policy_from_source_code

    chalice_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            policy_from_source_code(source)
        chalice_times.append(time.perf_counter() - start)

    fw_warm, chalice_t = statistics.median(warm), statistics.median(chalice_times)
    actions = sum(len(s["Action"]) for s in result.document["Statement"])
    print(
        f"app: {source.count(chr(10))} lines; fw policy: {len(result.document['Statement'])} "
        f"statements, {actions} actions, {len(result.warnings)} warnings"
    )
    print(f"fw gen-policy analysis, cold (imports + model loading): {cold * 1000:.0f} ms")
    print(f"fw gen-policy analysis, warm median of {args.repeat}:    {fw_warm * 1000:.0f} ms")
    print(
        f"fw gen-policy as a subprocess, median of {args.repeat}:  "
        f"{statistics.median(process) * 1000:.0f} ms (goal: under 1000 ms)"
    )
    print(f"chalice analyzer + policy, median of {args.repeat}:      {chalice_t * 1000:.0f} ms")
    print(
        f"ratio fw(warm)/chalice: {fw_warm / chalice_t:.2f}; fw(cold)/chalice: "
        f"{cold / chalice_t:.2f}"
    )

    from gen_policy_corpus import CORPUS

    print(f"\ncorpus: {len(CORPUS)} apps")
    print("| analyzer | recall | precision | exact apps |")
    print("|---|---|---|---|")
    analyzers = [
        ("fw", _fw_actions),
        ("chalice 1.34, app.py as written", _chalice_actions),
        ("chalice 1.34, every function a view", partial(_chalice_actions, mark_views=True)),
    ]
    for name, actions_of in analyzers:
        recall, precision, exact = score(actions_of)
        print(f"| {name} | {recall:.2f} | {precision:.2f} | {exact}/{len(CORPUS)} |")

    print("\nChalice-layout projects: recall / precision against the hand-written needs")
    print("\n".join(chalice_corpus_table()))


def _chalice_project_actions(project, *, every_module: bool = False) -> set[str]:
    """Chalice's analyzer on the project as written (it reads only ``app.py``); with
    ``every_module``, on each of the project's modules too, the most generous reading."""
    from chalice.policy import policy_from_source_code

    sources = project.sources()
    found: set[str] = set()
    for rel, source in sources.items():
        if rel != "app.py" and not every_module:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                document = policy_from_source_code(source)
            except Exception:  # noqa: BLE001 - a module it cannot analyze adds nothing
                continue
        found |= {a for s in document["Statement"] for a in s["Action"]}
    return found


def chalice_corpus_table() -> list[str]:
    """Recall and precision per project and over the corpus, fw beside chalice, as Markdown."""
    from chalice_corpus import PROJECTS, port_source, score

    from deployer.policy.analyzer import analyze_project

    def fw(project) -> set[str]:
        with tempfile.TemporaryDirectory() as tmp:
            ported = Path(tmp) / project.name
            for rel, source in project.sources().items():
                (ported / rel).parent.mkdir(parents=True, exist_ok=True)
                (ported / rel).write_text(port_source(source))
            from deployer.policy.role_policy import policy_from_calls

            document = policy_from_calls(analyze_project(ported).calls)
        return {a for s in document["Statement"][1:] for a in s["Action"]}

    analyzers = [
        ("fw", fw),
        ("chalice, app.py (as `chalice gen-policy`)", _chalice_project_actions),
        ("chalice, every module", partial(_chalice_project_actions, every_module=True)),
    ]
    lines = ["| project | " + " | ".join(name for name, _ in analyzers) + " |"]
    lines.append("|---" * (len(analyzers) + 1) + "|")
    totals = {name: [0, 0, 0] for name, _ in analyzers}  # hits, found, needed
    for project in PROJECTS:
        cells = []
        for name, actions_of in analyzers:
            found = actions_of(project)
            recall, precision = score(found, project.needs)
            totals[name][0] += len(found & project.needs)
            totals[name][1] += len(found)
            totals[name][2] += len(project.needs)
            shown = f"{precision:.2f}" if found else "—"  # nothing found: no precision
            cells.append(f"{recall:.2f} / {shown}")
        lines.append(f"| {project.name} | " + " | ".join(cells) + " |")
    cells = []
    for name, _ in analyzers:
        hits, found_total, needed = totals[name]
        shown = f"{hits / found_total:.2f}" if found_total else "—"
        cells.append(f"**{hits / needed:.2f} / {shown}**")
    lines.append("| corpus (micro-averaged) | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    main()
