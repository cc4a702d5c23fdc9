"""The deployment package: one deterministic zip per stage, the same for package and deploy.

The function zip holds the project's own code (``app.py``, ``lib/``, ``chalicelib/`` and the
modules beside ``app.py`` that it imports: see ``deployer.package.imports``), the contents of ``vendor/`` at
the zip root, the ``microframework`` runtime without its local emulation (``deployer.package.runtime``) and
the requirements built for Lambda (see ``deployer.package.dependencies``). With ``automatic_layer`` the
requirements go into a separate layer zip instead. The same inputs give byte-identical zips, so the deployer can compare a zip's
``code_sha256`` with the ``CodeSha256`` Lambda reports and skip an upload that changes nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import marshal
import os
import stat
import struct
import sys
import uuid
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from deployer.errors import PackagingError
from deployer.package.dependencies import REQUIREMENTS_FILE, has_requirements, install_dependencies
from deployer.package.runtime import runtime_files

__all__ = [
    "FUNCTION_ZIP_NAME",
    "LAYER_PREFIX",
    "LAYER_ZIP_NAME",
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIPPED_BYTES",
    "Artifact",
    "PackageResult",
    "StagedPackage",
    "build_package",
    "bytecode_files",
    "check_limits",
    "collect_function_files",
    "package_target",
    "tree_files",
    "write_zip",
]

# Lambda quotas: a zip sent inline with CreateFunction/UpdateFunctionCode/PublishLayerVersion is
# capped at 50 MB (bigger ones must come from S3), and the function plus all its layers may
# unpack to at most 250 MB, however they were uploaded.
MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

FUNCTION_ZIP_NAME = "deployment.zip"
LAYER_ZIP_NAME = "layer-deployment.zip"
# Lambda adds /opt/python (where a layer's python/ lands) to sys.path; files elsewhere in a
# layer are not importable.
LAYER_PREFIX = "python/"

# The earliest time a zip header can hold; any fixed value works, this one is conventional.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_COMPRESS_LEVEL = 6
_UNIX = 3  # "made by" system in the zip header; it is what makes the mode bits meaningful
_FILE_MODE = 0o644
# Executables (vendored binaries) keep an execute bit, or Lambda cannot run them.
_EXEC_MODE = 0o755
# Left out of the project's own trees (lib/, vendor/); installed packages lose only bytecode,
# since a dependency may well ship a subpackage called "venv".
_SKIP_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".venv", "venv", ".fw", ".tox"})
_BYTECODE_DIRS = frozenset({"__pycache__"})
_SKIP_FILES = frozenset({".DS_Store"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


@attrs.frozen
class Artifact:
    """A zip written to disk, with the hashes the deployer compares against Lambda's."""

    path: Path
    sha256_hex: str
    code_sha256: str  # base64(sha256 digest), comparable with Lambda's CodeSha256
    size: int  # zipped bytes
    unzipped_size: int


@attrs.frozen
class StagedPackage:
    """What the zips will hold, before they are written: zip name -> source file."""

    project_dir: Path
    function: Mapping[str, Path]
    layer: Mapping[str, Path]  # names in the layer zip, under python/
    runtime: str
    architecture: str


@attrs.frozen
class PackageResult:
    """The zips of one stage; ``layer_zip`` is set when ``automatic_layer`` found dependencies."""

    function_zip: Artifact
    layer_zip: Artifact | None
    needs_s3_upload: bool  # a zip is bigger than Lambda takes inline


def build_package(
    project_dir: Path,
    out_dir: Path,
    *,
    runtime: str,
    architecture: str = "x86_64",
    automatic_layer: bool = False,
    max_zipped: int = MAX_ZIPPED_BYTES,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
    check: Callable[[StagedPackage], None] | None = None,
    report: Callable[[str], None] | None = None,
    app: Any = None,
) -> PackageResult:
    """Write ``out_dir/deployment.zip`` (and ``out_dir/layer-deployment.zip`` with a layer).

    Raises PackagingError for a missing ``app.py``, requirements with no Lambda-compatible wheel,
    or a package that unpacks to more than ``max_unzipped`` bytes; nothing is written then.
    ``check`` sees the package's contents before anything is written, and may refuse them.
    ``report`` hears of the steps that can take seconds (pip, compressing the dependencies).
    ``app``, when loaded, tells which on-demand runtime modules its handlers need (see
    ``deployer.package.runtime``); the project's code is read for them either way.
    """
    project_dir = Path(project_dir)
    out_dir = Path(out_dir)
    if not (project_dir / "app.py").is_file():
        raise PackagingError(
            f"No app.py in {str(project_dir)!r}: run the command from the project directory "
            "or pass --project-dir."
        )
    deps_dir = install_dependencies(
        project_dir, runtime=runtime, architecture=architecture, report=report
    )
    deps = _dependency_archive(deps_dir, report) if deps_dir else None
    function_files = collect_function_files(project_dir, app)
    function_files.update(bytecode_files(function_files, project_dir / ".fw" / "cache", runtime))
    function_deps: dict[str, _StoredEntry] = {}
    layer_deps: dict[str, _StoredEntry] = {}
    if deps and automatic_layer:
        layer_deps = {LAYER_PREFIX + name: entry for name, entry in deps.entries.items()}
    elif deps:
        # The project's own files win over a dependency that ships the same path.
        function_deps = {n: e for n, e in deps.entries.items() if n not in function_files}

    sizes = {name: path.stat().st_size for name, path in function_files.items()}
    sizes.update({name: entry.size for name, entry in {**function_deps, **layer_deps}.items()})
    _check_unzipped(sizes, max_unzipped)
    if check is not None:
        check(
            StagedPackage(
                project_dir=project_dir,
                function={
                    **{name: deps_dir / name for name in function_deps if deps_dir},
                    **function_files,
                },
                layer={
                    name: deps_dir / name.removeprefix(LAYER_PREFIX)
                    for name in layer_deps
                    if deps_dir
                },
                runtime=runtime,
                architecture=architecture,
            )
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    function_zip = _write_zip(out_dir / FUNCTION_ZIP_NAME, function_files, function_deps, deps)
    layer_zip = None
    stale_layer = out_dir / LAYER_ZIP_NAME
    if layer_deps:
        layer_zip = _write_zip(stale_layer, {}, layer_deps, deps)
    elif stale_layer.exists():
        # A layer zip left from an earlier build would look like part of this package.
        stale_layer.unlink()
    artifacts = [a for a in (function_zip, layer_zip) if a is not None]
    return PackageResult(
        function_zip=function_zip,
        layer_zip=layer_zip,
        needs_s3_upload=any(a.size > max_zipped for a in artifacts),
    )


def build_stage_package(
    project_dir: Path,
    out_dir: Path,
    config: Any,
    app: Any,
    *,
    region: str | None = None,
    report: Callable[[str], None] | None = None,
) -> PackageResult:
    """The package of one stage, built for the target its functions run on.

    ``fw package`` and ``fw deploy`` both build through here, so they upload the same zip, and
    both refuse a package that lacks a module the app imports before writing it (see
    ``deployer.package.check``); ``region`` is the one the functions will run in, if known.
    ``report`` hears of each step that can take a second or more.
    """
    from deployer.package.check import check_package
    from deployer.project.app_loader import function_names

    settings = [config.function(name) for name in function_names(app)] or [config.function(None)]
    runtime, architecture = package_target(
        project_dir, {s.name: (s.runtime, s.architecture) for s in settings}
    )
    return build_package(
        project_dir,
        out_dir,
        runtime=runtime,
        architecture=architecture,
        automatic_layer=config.automatic_layer,
        check=lambda staged: check_package(
            staged,
            environment=config.function(None).environment_variables,
            region=region,
            report=report,
        ),
        report=report,
        app=app,
    )


def package_target(project_dir: Path, targets: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    """The ``(runtime, architecture)`` to build the one zip of ``{function: target}`` for.

    The project's code and the runtime are pure Python and load on any target, so functions may
    differ; but pip installs the requirements for one, so with requirements they may not.
    """
    (first_name, first), *others = targets.items()
    requirements = Path(project_dir) / REQUIREMENTS_FILE
    if not requirements.is_file() or not has_requirements(requirements.read_text("utf-8")):
        return first
    for name, target in others:
        if target != first:
            raise PackagingError(
                f"Function {name!r} runs on {'/'.join(target)} but {first_name!r} on "
                f"{'/'.join(first)}, and {REQUIREMENTS_FILE} is installed for one runtime and "
                "architecture: set the same 'runtime' and 'architecture' for every function "
                "in the config file."
            )
    return first


def check_limits(
    result: PackageResult, *, can_use_s3: bool, max_zipped: int = MAX_ZIPPED_BYTES
) -> None:
    """Raise PackagingError if a zip is too big to upload inline and S3 is not available."""
    if can_use_s3:
        return
    for artifact in (result.function_zip, result.layer_zip):
        if artifact is not None and artifact.size > max_zipped:
            raise PackagingError(
                f"{artifact.path.name} is {_human(artifact.size)}, over Lambda's "
                f"{_human(max_zipped)} limit for direct upload: deploy through an S3 bucket, "
                "or trim requirements.txt and vendor/ (automatic_layer: true moves the "
                "requirements into their own zip)."
            )


def collect_function_files(project_dir: Path, app: Any = None) -> dict[str, Path]:
    """Map zip names to files: the project's shipped code, vendor/ and the runtime.

    The shipped code is app.py, lib/, chalicelib/ and the modules beside app.py that the app
    imports (see ``deployer.package.imports``); the runtime has the on-demand modules (websocket)
    only when the app or its code uses them.
    """
    from deployer.package.imports import (
        shipped_code,  # it reads trees with tree_files, from this module
    )
    from deployer.package.runtime import on_demand_modules

    code = shipped_code(project_dir)
    vendored = tree_files(project_dir / "vendor")
    files = runtime_files(on_demand_modules(code, app, vendored.values()))
    # vendor/ goes to the zip root as is; it may deliberately shadow the runtime.
    files.update(vendored)
    files.update(code.files)
    return files


def bytecode_files(files: Mapping[str, Path], cache_dir: Path, runtime: str) -> dict[str, Path]:
    """Checked-hash ``.pyc`` files for the package's own Python sources, when fw runs ``runtime``.

    Lambda's task folder is read-only, so without shipped bytecode every cold start compiles
    every module again (about 15 ms for the runtime alone). A checked-hash pyc is validated
    against its source's hash, not its mtime, so it stays valid after unzipping and is ignored
    (never wrong) if the source differs. Bytecode is only valid for the interpreter version that
    wrote it: for another runtime nothing is added. Each pyc is cached by its zip name and
    source, since the name is compiled into the code object.
    """
    tag = sys.implementation.cache_tag
    if runtime != f"python{sys.version_info.major}.{sys.version_info.minor}" or tag is None:
        return {}
    cache = cache_dir / "pyc" / tag
    out: dict[str, Path] = {}
    for name, source in files.items():
        if not name.endswith(".py"):
            continue
        data = source.read_bytes()
        key = hashlib.sha256(name.encode("utf-8") + b"\0" + data).hexdigest()
        cached = cache / f"{key}.pyc"
        if not cached.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            try:
                code = compile(data, name, "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                continue  # the import will report it, with the user's own line numbers
            pyc = (
                _PYC_HEADER
                + importlib.util.source_hash(data)
                + marshal.dumps(code, _MARSHAL_VERSION)
            )
            _replace_atomically(cached, pyc)
        folder, _, filename = name.rpartition("/")
        prefix = f"{folder}/" if folder else ""
        out[f"{prefix}__pycache__/{filename[:-3]}.{tag}.pyc"] = cached
    return out


def _unique_temp(path: Path) -> Path:
    """A name beside ``path`` that no other run uses, to write (mode "xb") and then
    ``os.replace`` over ``path``. Not ``mkstemp``: its 0600 mode would pass to the zip."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def _replace_atomically(path: Path, data: bytes) -> None:
    tmp = _unique_temp(path)
    try:
        with open(tmp, "xb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _unlink_on_error(tmp: Path) -> Callable[..., bool]:
    def exit_(exc_type: object, exc: object, tb: object) -> bool:
        if exc_type is not None:
            tmp.unlink(missing_ok=True)
        return False

    return exit_


# PEP 552 header: magic number, then flags 0b11 (hash-based, checked), then the source hash.
_PYC_HEADER = importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")
# marshal format 2 predates back-references. Formats 3+ mark every object whose reference
# count is above one, so objects the building process happens to share (interned names of
# modules it imported) change the bytes; format 2 output depends on the code alone. It costs
# about a third more bytes and 0.2 ms more to load the whole runtime, against ~15 ms compiling.
_MARSHAL_VERSION = 2


def tree_files(root: Path, prefix: str = "", *, project_tree: bool = True) -> dict[str, Path]:
    """Map ``prefix + relative path`` to each file under ``root``, skipping bytecode and junk.

    A project tree also loses VCS directories and virtualenvs (any directory with a pyvenv.cfg).
    """
    files: dict[str, Path] = {}
    if not root.is_dir():
        return files
    skip = _SKIP_DIRS if project_tree else _BYTECODE_DIRS
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [
            d
            for d in dirnames
            if d not in skip and not (project_tree and (here / d / "pyvenv.cfg").exists())
        ]
        rel = here.relative_to(root).as_posix()
        base = prefix if rel == "." else f"{prefix}{rel}/"
        for filename in filenames:
            if filename in _SKIP_FILES or filename.endswith(_SKIP_SUFFIXES):
                continue
            path = here / filename
            if path.is_file():  # skips broken symlinks, sockets and the like
                files[base + filename] = path
    return files


def write_zip(files: Mapping[str, Path], path: Path) -> Artifact:
    """Write a deterministic zip: sorted names, fixed timestamps, modes and compression level."""
    return _write_zip(path, files, {}, None)


# --- the zip writer ---------------------------------------------------------------------------
# zipfile cannot copy an already-compressed entry from one archive to another, and recompressing
# every dependency on each build would cost seconds for a large tree. So fw writes the (simple)
# zip format itself: one local header + deflate data per entry, then the central directory. The
# dependency tree is compressed once into a zip kept next to it in the cache, and each build
# copies those entries' compressed bytes as they are.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
_END_RECORD = struct.Struct("<4s4H2LH")
_DEFLATE = 8
_VERSION = 20  # 2.0: deflate, no zip64
_MADE_BY = (_UNIX << 8) | _VERSION
_NO_EXTRAS = (0, 0, 0, 0)  # central header: extra field, comment, disk number, internal attributes
_UTF8_FLAG = 0x800
_DOS_DATE = ((_ZIP_TIMESTAMP[0] - 1980) << 9) | (_ZIP_TIMESTAMP[1] << 5) | _ZIP_TIMESTAMP[2]
_DOS_TIME = 0
_MAX_ENTRIES = 0xFFFF  # without zip64 records
_MAX_OFFSET = 0xFFFFFFFF


@attrs.frozen
class _StoredEntry:
    """A file already compressed inside a cached zip, ready to be copied byte for byte."""

    crc: int
    size: int
    compressed_size: int
    mode: int
    header_offset: int


@attrs.frozen
class _DependencyArchive:
    path: Path
    entries: dict[str, _StoredEntry]


def _dependency_archive(
    deps_dir: Path, report: Callable[[str], None] | None = None
) -> _DependencyArchive:
    """The dependency tree compressed once, cached as ``<key>.zip`` next to the tree."""
    path = deps_dir.with_name(deps_dir.name + ".zip")
    infos = None
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except zipfile.BadZipFile:
            pass  # a damaged cache is rebuilt rather than trusted: the tree itself is intact
    if infos is None:
        if report is not None:
            report("Compressing the dependencies (once per requirements.txt)")
        _write_zip(path, tree_files(deps_dir, project_tree=False), {}, None)
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    return _DependencyArchive(
        path=path,
        entries={
            info.filename: _StoredEntry(
                crc=info.CRC,
                size=info.file_size,
                compressed_size=info.compress_size,
                mode=info.external_attr >> 16,
                header_offset=info.header_offset,
            )
            for info in infos
        },
    )


def _write_zip(
    path: Path,
    files: Mapping[str, Path],
    stored: Mapping[str, _StoredEntry],
    source: _DependencyArchive | None,
) -> Artifact:
    names = sorted({*files, *stored})
    if len(names) > _MAX_ENTRIES:
        raise PackagingError(
            f"{path.name} would hold {len(names)} files, more than the {_MAX_ENTRIES} fw can "
            "zip: trim requirements.txt or vendor/."
        )
    # A name of its own: two fw runs may write the same zip (two `fw package` into one
    # directory, a deploy and a package sharing the dependency cache); the last replace wins.
    tmp = _unique_temp(path)
    central: list[bytes] = []
    unzipped = 0
    digest = hashlib.sha256()
    with contextlib.ExitStack() as stack:
        stack.push(_unlink_on_error(tmp))
        out = stack.enter_context(open(tmp, "xb"))
        source_file = stack.enter_context(open(source.path, "rb")) if source else None

        def emit(chunk: bytes) -> None:
            out.write(chunk)
            digest.update(chunk)

        offset = 0
        for name in names:
            if name in files:
                crc, size, mode, compressed = _compress(files[name])
            else:
                entry = stored[name]
                assert source_file is not None
                crc, size, mode = entry.crc, entry.size, entry.mode
                compressed = _read_stored(source_file, entry)
            raw_name = name.encode("utf-8")
            flags = 0 if raw_name.isascii() else _UTF8_FLAG
            fields = (_VERSION, flags, _DEFLATE, _DOS_TIME, _DOS_DATE, crc, len(compressed), size)
            emit(_LOCAL_HEADER.pack(b"PK\x03\x04", *fields, len(raw_name), 0) + raw_name)
            emit(compressed)
            central.append(
                _CENTRAL_HEADER.pack(
                    b"PK\x01\x02", _MADE_BY, *fields, len(raw_name), *_NO_EXTRAS, mode << 16, offset
                )
                + raw_name
            )
            offset += _LOCAL_HEADER.size + len(raw_name) + len(compressed)
            unzipped += size
            if offset > _MAX_OFFSET:
                raise PackagingError(f"{path.name} is over 4 GB: trim requirements.txt or vendor/.")
        directory = b"".join(central)
        emit(directory)
        count = len(names)
        emit(_END_RECORD.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0))
    os.replace(tmp, path)
    raw_digest = digest.digest()
    return Artifact(
        path=path,
        sha256_hex=raw_digest.hex(),
        code_sha256=base64.b64encode(raw_digest).decode("ascii"),
        size=path.stat().st_size,
        unzipped_size=unzipped,
    )


def _compress(file: Path) -> tuple[int, int, int, bytes]:
    """CRC, size, mode and raw-deflate bytes of one file."""
    data = file.read_bytes()
    executable = file.stat().st_mode & stat.S_IXUSR
    mode = stat.S_IFREG | (_EXEC_MODE if executable else _FILE_MODE)
    # Negative wbits: raw deflate, no zlib header, which is what a zip entry holds.
    compressor = zlib.compressobj(_COMPRESS_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return zlib.crc32(data), len(data), mode, compressor.compress(data) + compressor.flush()


def _read_stored(source: BinaryIO, entry: _StoredEntry) -> bytes:
    source.seek(entry.header_offset)
    header = _LOCAL_HEADER.unpack(source.read(_LOCAL_HEADER.size))
    name_length, extra_length = header[-2], header[-1]
    source.seek(name_length + extra_length, os.SEEK_CUR)
    return source.read(entry.compressed_size)


def _check_unzipped(sizes: Mapping[str, int], max_unzipped: int) -> None:
    total = sum(sizes.values())
    if total <= max_unzipped:
        return
    by_top: dict[str, int] = {}
    for name, size in sizes.items():
        top = name.removeprefix(LAYER_PREFIX).split("/", 1)[0]
        by_top[top] = by_top.get(top, 0) + size
    largest = sorted(by_top.items(), key=lambda item: (-item[1], item[0]))[:5]
    listing = ", ".join(f"{top} ({_human(size)})" for top, size in largest)
    raise PackagingError(
        f"The package unzips to {_human(total)}, over Lambda's {_human(max_unzipped)} limit for "
        f"a function and its layers; largest: {listing}. Drop or slim these dependencies."
    )


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
