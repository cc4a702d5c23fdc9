"""HTTP errors a view raises to answer with a status code.

The wire shape, ``{"Code": ClassName, "Message": str}``, is Chalice's, so clients of a ported app
see the same bodies.
"""

from __future__ import annotations


class FrameworkError(Exception):
    """Base of every error the runtime raises on its own (a Chalice app knows it as ChaliceError)."""


class ViewError(FrameworkError):
    """Raise from a view to answer with ``STATUS_CODE`` and the message; the base answers 500."""

    STATUS_CODE = 500


class ChaliceViewError(ViewError):
    """ViewError under Chalice's name, so a ported app's errors carry the same ``Code``.

    The specific errors derive from it, so ``except ChaliceViewError`` catches them as it does
    in Chalice, while ``except ViewError`` catches everything.
    """


class BadRequestError(ChaliceViewError):
    STATUS_CODE = 400


class UnauthorizedError(ChaliceViewError):
    STATUS_CODE = 401


class ForbiddenError(ChaliceViewError):
    STATUS_CODE = 403


class NotFoundError(ChaliceViewError):
    STATUS_CODE = 404


class MethodNotAllowedError(ChaliceViewError):
    STATUS_CODE = 405


class RequestTimeoutError(ChaliceViewError):
    STATUS_CODE = 408


class ConflictError(ChaliceViewError):
    STATUS_CODE = 409


class UnprocessableEntityError(ChaliceViewError):
    STATUS_CODE = 422


class TooManyRequestsError(ChaliceViewError):
    STATUS_CODE = 429


class InvalidEventError(BadRequestError):
    """A field of the API Gateway event has a shape API Gateway never sends: a 400.

    Its wire ``Code`` is ``BadRequestError``; fw raises it from the request view and dispatch, so
    the handler can tell a malformed event from a middleware's own ViewError.
    """


class UnhandledError(FrameworkError):
    """Raise to let an exception pass through the view layer to middleware untouched."""


def not_an_object(event: object, handler: str, source: str) -> TypeError:
    """The error for an event that is not a JSON object: no AWS source sends one to this handler."""
    import reprlib

    limits = reprlib.Repr()
    limits.maxlevel = limits.maxlist = limits.maxdict = 3
    shown = limits.repr(event)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return TypeError(
        f"{handler} expects the event {source} sends, a JSON object (dict); Lambda passed "
        f"{type(event).__name__}: {shown}"
    )


ALL_ERRORS = (
    ViewError,
    ChaliceViewError,
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    RequestTimeoutError,
    ConflictError,
    UnprocessableEntityError,
    TooManyRequestsError,
)


def not_shipped(err: ModuleNotFoundError) -> ImportError:
    """The error for an on-demand runtime module missing from a deployment package.

    ``fw package`` ships ``microframework.websocket`` only with apps it sees using websockets
    (reading their code); one it missed fails here, with the fix, instead of a bare
    ModuleNotFoundError.
    """
    if err.name != "microframework.websocket":
        return err
    return ImportError(
        "microframework.websocket is not in this deployment package (fw ships it with apps"
        " it sees using websockets): add 'import microframework.websocket' to app.py and deploy"
        " again"
    )
