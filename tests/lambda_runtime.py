"""Run a deployment zip under the real Lambda runtime client, against a Runtime API stub.

``awslambdaric`` (AWS's Runtime Interface Client, the code behind Lambda's Python runtimes) polls
an HTTP API for events and posts back results. This module serves that API on a free loopback
port and starts the runtime the way Lambda's Python bootstrap does: the zip unpacked read-only as
the task root, the layer under a stand-in for ``/opt``, and nothing importable besides them, the
stdlib and what the Lambda Python runtime itself ships (awslambdaric, boto3 and their
dependencies)::

    with LambdaRuntime(zip_path, handler="app.app", env={"TABLE": "t"}) as fn:
        answer = fn.invoke(event)  # the response payload, or a LambdaError

Sources: "Using the Lambda runtime API for custom runtimes" (the endpoints and headers);
"Working with Lambda environment variables", section "Defined runtime environment variables"
(the environment); "Packaging your layer content", section "Layer paths for each Lambda runtime",
and "Working with .zip file archives for Python Lambda functions", section "Dependency search
path and runtime-included libraries" (``sys.path``).
"""

from __future__ import annotations

import ctypes
import functools
import http.server
import json
import os
import queue
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["ACCOUNT", "PROVIDED_MODULES", "LambdaError", "LambdaRuntime", "unavailable_reason"]

ACCOUNT = "123456789012"
_API = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"^{_API}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
_INIT_ERROR_PATH = f"{_API}/init/error"

# What the Lambda Python runtime puts on sys.path besides the stdlib: the runtime client (and the
# two modules it imports) and the AWS SDK with its dependencies ("The Lambda Python runtimes
# include the AWS SDK for Python (Boto3) and its dependencies").
PROVIDED_MODULES = (
    "awslambdaric",
    "runtime_client",  # awslambdaric's native part, a top-level extension module
    "simplejson",
    "snapshot_restore_py",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
)


def unavailable_reason() -> str | None:
    """Why these tests cannot run here, or None.

    awslambdaric's native part builds on Linux only, so elsewhere they skip. On Linux they never
    skip: a missing awslambdaric fails them (it is a dev dependency).
    """
    if not sys.platform.startswith("linux"):
        return f"awslambdaric's native runtime client builds on Linux only (this is {sys.platform})"
    return None


@attrs.frozen
class LambdaError:
    """What the runtime posted to ``/invocation/{id}/error`` or ``/init/error``."""

    phase: str  # "invoke" or "init"
    error_type: str
    error_message: str
    stack_trace: list[str]
    header_type: str | None  # the Lambda-Runtime-Function-Error-Type header


class LambdaRuntime:
    """One function instance: a runtime process, kept warm across invokes, and its API stub."""

    def __init__(
        self,
        zip_path: Path,
        handler: str,
        *,
        layer_zips: tuple[Path, ...] = (),
        env: Mapping[str, str] | None = None,
        function_name: str = "fw-test",
        memory_size: int = 128,
        runtime: str | None = None,
        region: str = "us-east-1",
        timeout: float = 20.0,
    ) -> None:
        self.zip_path = Path(zip_path)
        self.handler = handler
        self.layer_zips = tuple(Path(p) for p in layer_zips)
        self.function_env = dict(env or {})
        self.function_name = function_name
        self.memory_size = memory_size
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        self.runtime = runtime or f"python{version}"
        self.region = region
        self.timeout = timeout
        self._root: Path | None = None
        self._server: _Server | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LambdaRuntime:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        # mkdtemp makes a 0700 folder; the function's files inside must stay reachable by a
        # process that has no right to bypass permissions.
        self._root = Path(tempfile.mkdtemp(prefix="fw-lambda-"))
        self._root.chmod(0o755)
        task, opt = self._root / "task", self._root / "opt"
        extract_read_only(self.zip_path, task)
        opt.mkdir()
        for layer in self.layer_zips:
            # Lambda unpacks each layer into /opt, later layers over earlier ones.
            extract_read_only(layer, opt, make_root_read_only=False)
        _make_read_only(opt)
        runtime_dir = _provided_dir()
        self._server = _Server()
        self._log = open(self._root / "function.log", "w+b")  # noqa: SIM115 (closed in close())
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        path = [
            str(task),
            str(opt / "python" / "lib" / version / "site-packages"),
            str(opt / "python"),
            str(runtime_dir),
            *_stdlib_path(),
        ]
        launcher = (
            "import runpy, sys\n"
            f"sys.path[:] = {path!r}\n"
            f"sys.argv[:] = ['awslambdaric', {self.handler!r}]\n"
            "runpy.run_module('awslambdaric', run_name='__main__', alter_sys=True)\n"
        )
        # -I -S: no site-packages, no PYTHON* variables, no current directory; only `path`.
        self._proc = subprocess.Popen(
            [_interpreter(), "-I", "-S", "-c", launcher],
            cwd=task,
            env=self._environment(task, opt, runtime_dir),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_drop_capabilities if os.geteuid() == 0 else None,
        )

    def _environment(self, task: Path, opt: Path, runtime_dir: Path) -> dict[str, str]:
        assert self._server is not None
        name = self.function_name
        env = dict(self.function_env)
        # "Defined runtime environment variables": reserved, they win over the function's own.
        env.update(
            {
                "_HANDLER": self.handler,
                "LAMBDA_TASK_ROOT": str(task),
                "LAMBDA_RUNTIME_DIR": str(runtime_dir),
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self._server.port}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"2026/01/01/[$LATEST]{uuid.uuid4().hex}",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                # The execution role's temporary credentials.
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "TZ": ":UTC",
                "LANG": env.get("LANG", "en_US.UTF-8"),
                "PATH": env.get("PATH", "/usr/local/bin:/usr/bin:/bin:/opt/bin"),
                "PYTHONPATH": str(
                    runtime_dir
                ),  # what Lambda sets; -I ignores it, as sys.path is set
            }
        )
        return env

    def close(self) -> None:
        """Stop the process and the stub, and delete the unpacked function."""
        try:
            if self._proc is not None:
                if self._proc.poll() is None:
                    self._proc.kill()
                self._proc.wait(timeout=10)
        finally:
            self._proc = None
            if self._server is not None:
                self._server.stop()
                self._server = None
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._root is not None:
                _remove_tree(self._root)
                self._root = None

    # --- invoking ---------------------------------------------------------------------------

    def invoke(self, event: Any, *, timeout: float | None = None) -> Any:
        """Send ``event`` as the next invocation; the response payload, or a :class:`LambdaError`.

        Raises TimeoutError if the runtime answers nothing in time, RuntimeError if it exits.
        """
        assert self._server is not None and self._proc is not None, "use LambdaRuntime as a with"
        request_id = str(uuid.uuid4())
        deadline_s = time.time() + (timeout or self.timeout)
        self._server.pending.put(
            _Invocation(
                request_id=request_id,
                body=json.dumps(event).encode("utf-8"),
                deadline_ms=int(deadline_s * 1000),
                function_arn=(
                    f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function_name}"
                ),
            )
        )
        limit = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                result = self._server.results.get(timeout=0.05)
            except queue.Empty:
                if self._proc.poll() is not None and self._server.results.empty():
                    raise RuntimeError(
                        f"the runtime exited with {self._proc.returncode} before answering "
                        f"{request_id}:\n{self.logs()}"
                    ) from None
                if time.monotonic() > limit:
                    raise TimeoutError(
                        f"no answer to {request_id} within {timeout or self.timeout} s:\n"
                        f"{self.logs()}"
                    ) from None
                continue
            if result.request_id not in (None, request_id):
                continue  # a late answer to an earlier, timed-out invoke
            return result.value()

    def logs(self) -> str:
        """What the function printed so far (awslambdaric writes its log lines to stdout)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")


# --- the Runtime API stub --------------------------------------------------------------------


@attrs.frozen
class _Invocation:
    request_id: str
    body: bytes
    deadline_ms: int
    function_arn: str


@attrs.frozen
class _Result:
    kind: str  # "response", "error" or "init"
    request_id: str | None
    body: bytes
    error_type: str | None

    def value(self) -> Any:
        if self.kind == "response":
            return json.loads(self.body) if self.body else None
        data = json.loads(self.body) if self.body else {}
        return LambdaError(
            phase="init" if self.kind == "init" else "invoke",
            error_type=data.get("errorType", ""),
            error_message=data.get("errorMessage", ""),
            stack_trace=list(data.get("stackTrace") or []),
            header_type=self.error_type,
        )


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port: int = self.server_address[1]
        self.pending: queue.Queue[_Invocation] = queue.Queue()
        self.results: queue.Queue[_Result] = queue.Queue()
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Without it the runtime's POST waits for the delayed ACK of its headers (Nagle): ~40 ms
        # on every call.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The runtime may exit (or be killed) before reading the 202 to its last post.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def stop(self) -> None:
        self.closed.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the runtime client's HTTP library expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path != f"{_API}/invocation/next":
            self._reply(404, {"errorMessage": f"unknown path {self.path}"})
            return
        # A long poll: Lambda answers /next only when there is an event.
        while True:
            try:
                invocation = self.server.pending.get(timeout=0.05)
                break
            except queue.Empty:
                if self.server.closed.is_set():
                    self.close_connection = True
                    return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(invocation.body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn)
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
        self.send_header("Lambda-Runtime-Trace-Id", trace)
        self.end_headers()
        self.wfile.write(invocation.body)

    def do_POST(self) -> None:
        body = self._read_body()
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        match = _RESULT_PATH.match(self.path)
        if match:
            result = _Result(match["kind"], match["id"], body, error_type)
        elif self.path == _INIT_ERROR_PATH:
            result = _Result("init", None, body, error_type)
        else:
            self._reply(404, {"errorMessage": f"unknown path {self.path}"})
            return
        self.server.results.put(result)
        self._reply(202, {"status": "OK"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# --- the execution environment ---------------------------------------------------------------

# The owner of the unpacked function, when the tests run as root (see _drop_capabilities).
_NOBODY = 65534


def extract_read_only(zip_path: Path, dest: Path, *, make_root_read_only: bool = True) -> None:
    """Unpack ``zip_path`` into ``dest`` as Lambda does: each entry keeps the mode bits the zip
    records for it, minus every write bit (the task root is a read-only file system).

    Folders the zip does not list get 0o755 before the write bits go, as ``unzip`` and Lambda
    create them.
    """
    dest.mkdir(parents=True, exist_ok=True)
    folder_modes: dict[Path, int] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = dest / info.filename
            # A zip written without Unix modes gets what unzip gives it.
            mode = (info.external_attr >> 16) & 0o7777 if info.create_system == 3 else 0
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                folder_modes[target] = mode or 0o755
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(mode or 0o644)
    # Folders last: a listed folder's mode may forbid writing the files inside it.
    for folder, mode in sorted(folder_modes.items(), reverse=True):
        folder.chmod(mode)
    if make_root_read_only:
        _make_read_only(dest)


def _make_read_only(root: Path) -> None:
    """Clear every write bit below ``root``; as root, also hand the files to ``nobody``."""
    as_root = os.geteuid() == 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in [*filenames, *dirnames]:
            path = os.path.join(dirpath, name)
            os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)
            if as_root:
                os.chown(path, _NOBODY, _NOBODY)
    os.chmod(root, stat.S_IMODE(os.stat(root).st_mode) & ~0o222)
    if as_root:
        os.chown(root, _NOBODY, _NOBODY)


def _remove_tree(root: Path) -> None:
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
    shutil.rmtree(root, ignore_errors=True)


def _drop_capabilities() -> None:
    """Run in the child before exec, when the tests run as root: no capability survives exec.

    Root bypasses file modes through CAP_DAC_OVERRIDE, so a root function would read an
    unreadable file and write a read-only one. Lambda runs functions as an unprivileged user.
    Switching to ``nobody`` would do, but only if ``nobody`` can reach the interpreter, and a
    Python installed under /root (pyenv: /root is 0700) cannot be. So the process stays uid 0
    with every capability gone from the bounding set: after exec it holds none, and the files,
    owned by ``nobody``, are checked against their "other" bits, as for Lambda's user.
    """
    # prctl was looked up at import: a dlopen between fork and exec could deadlock on the
    # loader lock that another thread of the test process held at the fork.
    assert _PRCTL is not None
    pr_capbset_drop, pr_cap_ambient, pr_cap_ambient_clear_all = 24, 47, 4
    for cap in range(_LAST_CAP + 1):
        if _PRCTL(pr_capbset_drop, cap, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_CAPBSET_DROP, {cap}): {os.strerror(errno)}")
    _PRCTL(pr_cap_ambient, pr_cap_ambient_clear_all, 0, 0, 0)


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except OSError:
        return 63


_LAST_CAP = _last_cap()
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _interpreter() -> str:
    # The base interpreter, not the virtualenv's: it knows nothing of the venv's site-packages.
    return getattr(sys, "_base_executable", None) or sys.executable


@functools.cache
def _stdlib_path() -> list[str]:
    """The ``sys.path`` of an isolated interpreter with no site directory: the stdlib alone."""
    out = subprocess.run(
        [_interpreter(), "-I", "-S", "-c", "import sys, json; print(json.dumps(sys.path))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [p for p in json.loads(out) if p]


_PROVIDED_DIR: Path | None = None
_PROVIDED_LOCK = threading.Lock()


def _provided_dir() -> Path:
    """A folder standing in for Lambda's runtime folder: links to the provided modules only.

    One per test process, removed at exit. Links are enough: the modules stay where pip put them,
    and the runtime process can reach them (it runs as uid 0 without capabilities, or as the
    user that installed them).
    """
    global _PROVIDED_DIR
    with _PROVIDED_LOCK:
        if _PROVIDED_DIR is not None and _PROVIDED_DIR.is_dir():
            return _PROVIDED_DIR
        folder = Path(tempfile.mkdtemp(prefix="fw-lambda-runtime-"))
        folder.chmod(0o755)
        import importlib.util

        for name in PROVIDED_MODULES:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise RuntimeError(f"{name!r} is not installed: the Lambda runtime provides it")
            origin = Path(spec.origin)
            if spec.submodule_search_locations:  # a package: link its folder
                source = origin.parent
                (folder / source.name).symlink_to(source, target_is_directory=True)
            else:
                (folder / origin.name).symlink_to(origin)
        _PROVIDED_DIR = folder
        import atexit

        atexit.register(shutil.rmtree, folder, True)
        return folder
