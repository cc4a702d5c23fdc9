"""Package a hello app with warm caches, next to ``chalice package`` of the same app.

Run: ``.venv/bin/python benchmarks/bench_package.py [--runs N]``. Three numbers, each the median
of N warm runs (a first, untimed run fills the caches):

- fw in-process: ``build_package`` alone, what ``fw deploy`` pays to decide "nothing changed";
- fw subprocess: a fresh interpreter that imports the deployer and builds the zip, which is the
  fair comparison with chalice;
- chalice subprocess: ``chalice package out`` in an equivalent Chalice project.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deployer.packaging import build_package  # noqa: E402

RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"

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
from deployer.packaging import build_package
build_package(Path(sys.argv[1]), Path(sys.argv[2]), runtime=sys.argv[3])
"""


def _median_ms(run, runs: int) -> float:
    run()  # warm the caches (dependency tree, chalice's deployments/ zip, OS file cache)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    chalice = shutil.which("chalice", path=str(Path(sys.executable).parent))
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(REPO)}

    with tempfile.TemporaryDirectory() as tmp:
        fw_dir = _project(Path(tmp) / "fw", {"app.py": FW_APP, "requirements.txt": ""})
        out = fw_dir / ".fw" / "out"

        def fw_inline() -> None:
            build_package(fw_dir, out, runtime=RUNTIME)

        def fw_subprocess() -> None:
            command = [sys.executable, "-c", FW_SUBPROCESS, str(fw_dir), str(out), RUNTIME]
            subprocess.run(command, check=True, env=env)

        inline_ms = _median_ms(fw_inline, args.runs)
        sub_ms = _median_ms(fw_subprocess, args.runs)
        size = (out / "deployment.zip").stat().st_size
        print(f"fw build_package, in-process  : {inline_ms:8.1f} ms  ({size} bytes zipped)")
        print(f"fw build_package, subprocess  : {sub_ms:8.1f} ms")

        if chalice is None:
            print("chalice package              :   (chalice not installed in this venv)")
            return
        ch_dir = _project(
            Path(tmp) / "chalice",
            {"app.py": CHALICE_APP, "requirements.txt": "", ".chalice/config.json": CHALICE_CONFIG},
        )

        def chalice_package() -> None:
            subprocess.run(
                [chalice, "package", str(ch_dir / "out")],
                cwd=ch_dir,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        ch_ms = _median_ms(chalice_package, args.runs)
        print(f"chalice package, subprocess   : {ch_ms:8.1f} ms")
        print(f"ratio chalice / fw subprocess : {ch_ms / sub_ms:8.1f}x")
        print(f"ratio chalice / fw in-process : {ch_ms / inline_ms:8.1f}x")


if __name__ == "__main__":
    main()
