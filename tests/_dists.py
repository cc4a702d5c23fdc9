"""Tiny wheels and sdists written by hand, so dependency tests run offline and fast."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import textwrap
import zipfile
from pathlib import Path


def make_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    tag: str = "py3-none-any",
    *,
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
) -> Path:
    """Write ``<name>-<version>-<tag>.whl`` with one module, ``<name>/__init__.py``."""
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {req}\n" for req in requires)
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    pure = "true" if tag.endswith("-none-any") else "false"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: {pure}\n"
        f"Tag: {tag}\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


# A PEP 517 backend shipped inside the sdist (backend-path), with no build requirements, so
# pip's isolated build environment needs nothing from an index.
_BACKEND = """
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _dists import make_wheel

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return make_wheel(Path(wheel_directory), {name!r}, {version!r}, {tag!r}).name
"""


def make_sdist(
    directory: Path, name: str, version: str = "1.0", wheel_tag: str = "py3-none-any"
) -> Path:
    """Write ``<name>-<version>.tar.gz`` whose build produces a wheel tagged ``wheel_tag``."""
    directory.mkdir(parents=True, exist_ok=True)
    root = f"{name}-{version}"
    files = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "pyproject.toml": textwrap.dedent(
            """\
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["."]
            """
        ),
        "backend.py": _BACKEND.format(name=name, version=version, tag=wheel_tag),
        "_dists.py": Path(__file__).read_text(encoding="utf-8"),
    }
    sdist = directory / f"{root}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return sdist


def write_requirements(project: Path, *requirements: str, wheels: str = "wheels") -> Path:
    """A requirements.txt that only looks in ``project/<wheels>`` (offline)."""
    path = project / "requirements.txt"
    lines = ["--no-index", f"--find-links {wheels}", *requirements]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
