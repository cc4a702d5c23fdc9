from chalice import BadRequestError, Chalice, NotFoundError, Response
from chalicelib import db

app = Chalice(app_name="todo-repository")
_DB = None


def get_app_db():
    global _DB
    if _DB is None:
        _DB = db.TodoRepository.from_environment()
    return _DB


def current_user():
    return app.current_request.headers.get("x-user", "default")


@app.route("/todos", methods=["GET"])
def list_todos():
    return get_app_db().list_items(current_user())


@app.route("/todos", methods=["POST"])
def add_todo():
    body = app.current_request.json_body or {}
    if not body.get("description"):
        raise BadRequestError("'description' is required")
    uid = get_app_db().add_item(current_user(), body["description"], body.get("metadata"))
    return Response({"uid": uid}, status_code=201)


@app.route("/todos/{uid}", methods=["GET"])
def get_todo(uid):
    item = get_app_db().get_item(current_user(), uid)
    if item is None:
        raise NotFoundError(f"no todo {uid}")
    return item


@app.route("/todos/{uid}", methods=["PUT"])
def update_todo(uid):
    body = app.current_request.json_body or {}
    get_app_db().update_item(
        current_user(), uid, description=body.get("description"), state=body.get("state")
    )
    return get_app_db().get_item(current_user(), uid)


@app.route("/todos/{uid}", methods=["DELETE"])
def delete_todo(uid):
    get_app_db().delete_item(current_user(), uid)
    return Response(body="", status_code=204)
