"""The server behind ``fw local``: HTTP/1.1 and websockets on one port, API Gateway semantics in
:mod:`microframework.gateway`."""

from .access_log import AccessLog
from .http11 import Unavailable
from .server import LocalServer, serve

__all__ = ["AccessLog", "LocalServer", "Unavailable", "serve"]
