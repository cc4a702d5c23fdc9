"""Cold start: ``import app`` from an unzipped hello-world deployment package, fw vs Chalice.

Lambda's task folder is read-only, so nothing shipped without bytecode gets cached: every cold
start compiles the framework's sources again. This runs each import in a fresh interpreter
with no site-packages (``-S``), no bytecode writing (``-B``) and the package folder alone on
``sys.path``, as the Lambda runtime does, and reports the median of many runs. Two numbers per
framework: the import alone, and import plus the first request (which pays for lazy imports).
It also prints the size of fw's hello zip: zipped bytes, unzipped bytes and files.

    python benchmarks/bench_cold_start.py
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _apps  # noqa: E402

RUNS = 40

PROBE = r"""
import sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
event = {"resource": "/", "path": "/", "httpMethod": "GET", "headers": {"Host": "x"},
         "multiValueHeaders": {"Host": ["x"]}, "queryStringParameters": None,
         "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
         "requestContext": {"resourcePath": "/", "httpMethod": "GET", "stage": "api"},
         "body": None, "isBase64Encoded": False}
result = app.app(event, None)
t2 = time.perf_counter()
assert result["statusCode"] == 200, result
print((t1 - t0) * 1000, (t2 - t0) * 1000)
"""


ZIP_SIZE: dict[str, int] = {}


def _package(framework: str, root: Path) -> Path:
    """An unzipped deployment package: what each tool ships for the hello-world app."""
    target = root / framework
    target.mkdir()
    source = _apps.IMPORTS[framework] + "\n" + _apps.HELLO
    (target / "app.py").write_text(source)
    if framework == "fw":
        # The real package, as `fw package`/`fw deploy` build it, unzipped as Lambda does.
        from deployer.package.build import build_package

        result = build_package(
            target, root / "fw-out", runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}"
        )
        (target / "app.py").unlink()
        with zipfile.ZipFile(result.function_zip.path) as archive:
            archive.extractall(target)
            ZIP_SIZE["files"] = len(archive.infolist())
        ZIP_SIZE["bytes"] = result.function_zip.size
        ZIP_SIZE["unzipped_bytes"] = result.function_zip.unzipped_size
    else:
        import chalice

        src = Path(chalice.__file__).parent
        shutil.copytree(
            src, target / "chalice", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        # A Chalice deployment ships only chalice/app.py (+ __init__ shim); mirror what it packages.
        pkg = target / "chalice"
        for child in list(pkg.iterdir()):
            if child.name not in ("app.py", "__init__.py", "py.typed"):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        (pkg / "__init__.py").write_text(
            "from chalice.app import *  # noqa\nfrom chalice.app import __version__\n"
        )
    return target


def _measure(folder: Path) -> tuple[float, float]:
    imports, firsts = [], []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-S", "-B", "-E", "-c", PROBE],
            cwd=folder,
            env={"PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        imports.append(float(out[0]))
        firsts.append(float(out[1]))
    return statistics.median(imports), statistics.median(firsts)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {fw: _measure(_package(fw, Path(tmp))) for fw in ("chalice", "fw")}
    (c_imp, c_first), (f_imp, f_first) = results["chalice"], results["fw"]
    print(f"cold start, hello-world package, median of {RUNS} fresh interpreters (-S -B)")
    print(f"  {'':8} {'import app':>12} {'+ 1st request':>14}")
    print(f"  {'chalice':8} {c_imp:9.2f} ms {c_first:11.2f} ms")
    print(f"  {'fw':8} {f_imp:9.2f} ms {f_first:11.2f} ms")
    print(f"  {'ratio':8} {f_imp / c_imp:9.2f} x  {f_first / c_first:10.2f} x   (goal <= 0.20x)")
    print(
        f"fw hello zip: {ZIP_SIZE['bytes']:,} bytes, {ZIP_SIZE['unzipped_bytes']:,} unzipped, "
        f"{ZIP_SIZE['files']} files"
    )
    print(
        json.dumps(
            {
                "chalice_ms": [c_imp, c_first],
                "fw_ms": [f_imp, f_first],
                "fw_zip": ZIP_SIZE,
            }
        )
    )


if __name__ == "__main__":
    main()
