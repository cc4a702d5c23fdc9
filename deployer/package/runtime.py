"""Which modules of the ``microframework`` package ship in a Lambda zip, and which stay local.

Lambda runs only the runtime; the emulation of API Gateway, the test client and the sample
events stay on the developer's machine, so they cost the zip nothing (compare Chalice's
packager, which leaves ``local.py`` and ``test.py`` behind).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.errors import PackagingError

if TYPE_CHECKING:
    from deployer.package.imports import ShippedCode

__all__ = [
    "LOCAL_ONLY_MODULES",
    "ON_DEMAND_MODULES",
    "RUNTIME_MODULES",
    "local_only_module",
    "needs_on_demand",
    "on_demand_modules",
    "runtime_files",
]

# Every module of the microframework package is in exactly one of these three lists (a test
# checks it), so a new module is shipped or kept local on purpose, never by accident.
# Shipped: what a deployed function can import, the app object's own modules and those it loads
# lazily (routing: ``App.route_table``).
RUNTIME_MODULES = frozenset({
    "__init__", "app", "authorizers", "cors", "dispatch", "errors", "events", "handlers", "hints",
    "logs", "request", "response", "routing", "scaffold", "schedule", "sources",
})  # fmt: skip
# Shipped only to an app that uses them (``on_demand_modules``): the runtime imports them lazily,
# from the decorators and attributes that need them, so another app never imports them.
ON_DEMAND_MODULES = frozenset({"websocket"})
# Local only: the emulation that ``fw local``, ``fw invoke --local``, ``fw generate-event`` and
# users' tests run from the installed package. In Lambda, API Gateway does the routing and the
# token checks and the services send the events, so no deployed code imports these.
LOCAL_ONLY_MODULES = frozenset({
    "cognito", "gateway", "local_sources", "sample_events", "testing", "websocket_local",
})  # fmt: skip
# What in an app's code reaches microframework.websocket: the decorators that register handlers,
# the management client (a REST handler may post to another API's connections) and the names
# microframework exports lazily from it (``_LAZY``, and Chalice's alias of one of them).
_WEBSOCKET_ATTRIBUTES = frozenset({
    "on_ws_connect", "on_ws_message", "on_ws_disconnect", "websocket_api",
    "WebsocketAPI", "WebsocketDisconnectedError", "WebsocketEvent", "WebsocketHandler",
    "WebsocketEventSourceHandler",
})  # fmt: skip


def on_demand_modules(
    code: ShippedCode, app: Any = None, vendored: Iterable[Path] = ()
) -> frozenset[str]:
    """The ``ON_DEMAND_MODULES`` the package needs: websocket for an app that registered
    websocket handlers (``app``, when loaded) or whose shipped code names the module, one of its
    names or the decorators and attribute that load it (read, not run: an import or a use
    inside a function counts too). When in doubt it ships: 14 KB against a function that fails."""
    if app is not None and getattr(app, "websocket_handlers", None):
        return frozenset({"websocket"})
    for site in code.imports:
        if needs_on_demand(site.module):
            return frozenset({"websocket"})
    if any(_names_websocket(path) for path in code.modules.values()):
        return frozenset({"websocket"})
    # vendor/ ships as it is: its Python files are read the same way.
    if any(_names_websocket(path) for path in vendored if path.suffix == ".py"):
        return frozenset({"websocket"})
    return frozenset()


def needs_on_demand(module: str) -> str | None:
    """The on-demand module that importing ``module`` (a dotted name, or ``microframework.X``
    of ``from microframework import X``) needs, if any."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "microframework":
        return None
    if parts[1] in ON_DEMAND_MODULES or parts[1] in _WEBSOCKET_ATTRIBUTES:
        return "microframework.websocket"
    return None


def _names_websocket(path: Path) -> bool:
    import ast

    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return False  # the import check reports a file that does not parse
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _WEBSOCKET_ATTRIBUTES:
            return True
        # Imports, for files whose imports the import graph does not list (vendor/).
        if isinstance(node, ast.Import) and any(needs_on_demand(a.name) for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if needs_on_demand(node.module) or any(
                needs_on_demand(f"{node.module}.{alias.name}") for alias in node.names
            ):
                return True
        # "from microframework import *" imports every name of __all__, the websocket ones too.
        if isinstance(node, ast.ImportFrom) and node.module == "microframework" and not node.level:
            if any(alias.name == "*" for alias in node.names):
                return True
    return False


def runtime_files(on_demand: Iterable[str] = ()) -> dict[str, Path]:
    """The installed ``microframework`` package's runtime modules and ``py.typed``, under
    microframework/, with the ``on_demand`` modules the app uses: never the local emulation
    (``LOCAL_ONLY_MODULES``)."""
    # find_spec locates the package without importing it: packaging needs its files, not its code.
    spec = importlib.util.find_spec("microframework")
    if spec is None or not spec.origin:
        raise PackagingError(
            "The microframework runtime is not installed next to fw: reinstall fw "
            "(pip install fw) so it can be copied into the deployment package."
        )
    root = Path(spec.origin).parent
    modules = RUNTIME_MODULES | (ON_DEMAND_MODULES & set(on_demand))
    names = [f"{module}.py" for module in sorted(modules)] + ["py.typed"]
    return {f"microframework/{name}": root / name for name in names}


def local_only_module(module: str) -> str | None:
    """The fw emulation module that ``module`` (a dotted import name) is or is inside, if any."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "microframework" and parts[1] in LOCAL_ONLY_MODULES:
        return f"microframework.{parts[1]}"
    return None
