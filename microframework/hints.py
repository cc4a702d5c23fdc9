"""Chalice's type aliases, for ported code that annotates views and middleware with them.

Nothing in the runtime needs them, and ``typing`` costs a cold start several milliseconds, so
this module is only imported when an app names one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

HeadersType = dict[str, Union[str, list[str]]]
"""A response's headers: a value, or a list of values sent as repeated headers."""

UserHandlerFuncType = Callable[..., Any]
"""A view or event handler as the decorators receive it."""

MiddlewareFuncType = Callable[[Any, Callable[[Any], Any]], Any]
"""``func(event, get_response)``, what ``@app.middleware`` registers."""

__all__ = ["HeadersType", "MiddlewareFuncType", "UserHandlerFuncType"]
