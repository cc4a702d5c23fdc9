"""Package a hello app with warm caches, next to ``chalice package`` of the same app.

Run: ``.venv/bin/python benchmarks/bench_package.py [--runs N]``. Three numbers, each the median
of N warm runs (a first, untimed run fills the caches):

- fw in-process: ``build_package`` alone, what ``fw deploy`` pays to decide "nothing changed";
- fw subprocess: a fresh interpreter that imports the deployer and builds the zip, which is the
  fair comparison with chalice;
- chalice subprocess: ``chalice package out`` in an equivalent Chalice project.

``--with-deps`` adds botocore (21 MB unzipped, wheel made from the venv's copy, installed
offline) and edits app.py before every run: the everyday "change code, package again" loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deployer.package.build import build_package  # noqa: E402

RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
CHALICE = shutil.which("chalice", path=str(Path(sys.executable).parent))

FW_APP = """\
from microframework import App

app = App("hello")


@app.route("/")
def index():
    return {"hello": "world"}
"""

CHALICE_APP = """\
from chalice import Chalice

app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
"""

CHALICE_CONFIG = """\
{"version": "2.0", "app_name": "hello", "stages": {"dev": {"api_gateway_stage": "api"}}}
"""

FW_SUBPROCESS = """\
import sys
from pathlib import Path
from deployer.package.build import build_package
build_package(Path(sys.argv[1]), Path(sys.argv[2]), runtime=sys.argv[3])
"""


def _median_ms(run, runs: int, before=None) -> float:
    run()  # warm the caches (dependency tree, chalice's deployments/ zip, OS file cache)
    samples = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _botocore_wheel(wheels: Path) -> str:
    """A py3-none-any wheel of the installed botocore (21 MB unzipped), without its deps."""
    import botocore

    site = Path(botocore.__file__).parent.parent
    dist_info = next(site.glob("botocore-*.dist-info"))
    wheels.mkdir(parents=True)
    wheel = wheels / f"{dist_info.name.removesuffix('.dist-info')}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for root in (site / "botocore", dist_info):
            for path in sorted(root.rglob("*")):
                if not path.is_file() or "__pycache__" in path.parts:
                    continue
                data = path.read_bytes()
                if path.name == "METADATA":  # offline: drop Requires-Dist
                    lines = data.split(b"\n")
                    data = b"\n".join(x for x in lines if not x.startswith(b"Requires-Dist"))
                archive.writestr(path.relative_to(site).as_posix(), data)
    return "--no-index\n--find-links wheels\nbotocore\n"


def _scenario(label: str, root: Path, runs: int, env: dict[str, str], deps: bool) -> None:
    requirements = _botocore_wheel(root / "wheels") if deps else ""
    fw_dir = _project(root / "fw", {"app.py": FW_APP, "requirements.txt": requirements})
    ch_dir = _project(
        root / "chalice",
        {
            "app.py": CHALICE_APP,
            "requirements.txt": requirements,
            ".chalice/config.json": CHALICE_CONFIG,
        },
    )
    if deps:
        shutil.copytree(root / "wheels", fw_dir / "wheels")
        shutil.copytree(root / "wheels", ch_dir / "wheels")
    out = fw_dir / ".fw" / "out"
    edits = iter(range(1_000_000))

    def edit_apps() -> None:
        # With dependencies, every run follows an app.py change: the warm-cache edit loop.
        if deps:
            n = next(edits)
            (fw_dir / "app.py").write_text(FW_APP + f"# edit {n}\n")
            (ch_dir / "app.py").write_text(CHALICE_APP + f"# edit {n}\n")

    def fw_inline() -> None:
        build_package(fw_dir, out, runtime=RUNTIME)

    def fw_subprocess() -> None:
        command = [sys.executable, "-c", FW_SUBPROCESS, str(fw_dir), str(out), RUNTIME]
        subprocess.run(command, check=True, env=env)

    def chalice_package() -> None:
        command = [CHALICE, "package", str(ch_dir / "out")]
        subprocess.run(command, cwd=ch_dir, env=env, check=True, stdout=subprocess.DEVNULL)

    inline_ms = _median_ms(fw_inline, runs, edit_apps)
    sub_ms = _median_ms(fw_subprocess, runs, edit_apps)
    size = (out / "deployment.zip").stat().st_size
    print(f"== {label} ({size / 1e6:.2f} MB zipped), median of {runs} warm runs")
    print(f"fw build_package, in-process  : {inline_ms:8.1f} ms")
    print(f"fw build_package, subprocess  : {sub_ms:8.1f} ms")
    if CHALICE is None:
        print("chalice package              :   (chalice not installed in this venv)")
        return
    ch_ms = _median_ms(chalice_package, runs, edit_apps)
    print(f"chalice package, subprocess   : {ch_ms:8.1f} ms")
    print(f"ratio chalice / fw subprocess : {ch_ms / sub_ms:8.1f}x")
    print(f"ratio chalice / fw in-process : {ch_ms / inline_ms:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--with-deps",
        action="store_true",
        help="also package the app with botocore as a dependency",
    )
    args = parser.parse_args()
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        _scenario("hello app", Path(tmp) / "hello", args.runs, env, deps=False)
        if args.with_deps:
            runs = max(3, args.runs // 3)
            _scenario("hello app + botocore, app.py edited", Path(tmp) / "deps", runs, env, True)


if __name__ == "__main__":
    main()
