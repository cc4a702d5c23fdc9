"""Which modules of the ``microframework`` package ship in a Lambda zip, and which stay local.

Lambda runs only the runtime; the emulation of API Gateway, the test client and the sample
events stay on the developer's machine, so they cost the zip nothing (compare Chalice's
packager, which leaves ``local.py`` and ``test.py`` behind).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from deployer.errors import PackagingError

__all__ = ["LOCAL_ONLY_MODULES", "RUNTIME_MODULES", "local_only_module", "runtime_files"]

# Every module of the microframework package is in exactly one of these two lists (a test
# checks it), so a new module is shipped or kept local on purpose, never by accident.
# Shipped: what a deployed function can import, the app object's own modules and those it loads
# lazily (routing: ``App.route_table``).
RUNTIME_MODULES = frozenset({
    "__init__", "app", "authorizers", "cors", "dispatch", "errors", "events", "handlers", "hints",
    "logs", "request", "response", "routing", "scaffold", "schedule", "sources", "websocket",
})  # fmt: skip
# Local only: the emulation that ``fw local``, ``fw invoke --local``, ``fw generate-event`` and
# users' tests run from the installed package. In Lambda, API Gateway does the routing and the
# token checks and the services send the events, so no deployed code imports these.
LOCAL_ONLY_MODULES = frozenset({
    "cognito", "gateway", "local_sources", "sample_events", "testing", "websocket_local",
})  # fmt: skip


def runtime_files() -> dict[str, Path]:
    """The installed ``microframework`` package's runtime modules and ``py.typed``, under
    microframework/: everything but the local emulation (``LOCAL_ONLY_MODULES``)."""
    # find_spec locates the package without importing it: packaging needs its files, not its code.
    spec = importlib.util.find_spec("microframework")
    if spec is None or not spec.origin:
        raise PackagingError(
            "The microframework runtime is not installed next to fw: reinstall fw "
            "(pip install fw) so it can be copied into the deployment package."
        )
    root = Path(spec.origin).parent
    names = [f"{module}.py" for module in sorted(RUNTIME_MODULES)] + ["py.typed"]
    return {f"microframework/{name}": root / name for name in names}


def local_only_module(module: str) -> str | None:
    """The fw emulation module that ``module`` (a dotted import name) is or is inside, if any."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "microframework" and parts[1] in LOCAL_ONLY_MODULES:
        return f"microframework.{parts[1]}"
    return None
