"""A to-do list REST API over DynamoDB.

The table name comes from the stage's environment (``.fw/config.json``), so each stage can
point at its own table; boto3 is part of the Lambda runtime, so requirements.txt is empty.
"""

import os
import uuid

import boto3

from microframework import App, BadRequestError, NotFoundError, Response

app = App("todo")
# Created once per Lambda instance and reused by every request it serves.
TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

_FIELDS = {"title": str, "done": bool}


def _validated(body, *, partial):
    """The to-do fields of a request body; raises BadRequestError (400) for anything else."""
    if not isinstance(body, dict):
        raise BadRequestError('expected a JSON object like {"title": "buy milk"}')
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise BadRequestError(f"unknown field(s) {unknown}; allowed: title, done")
    for name, kind in _FIELDS.items():
        if name in body and not isinstance(body[name], kind):
            raise BadRequestError(f"{name!r} must be a {kind.__name__}")
    if not partial and not body.get("title", "").strip():
        raise BadRequestError("'title' is required and must not be empty")
    if "title" in body and not body["title"].strip():
        raise BadRequestError("'title' must not be empty")
    return body


def _get(todo_id):
    item = TABLE.get_item(Key={"id": todo_id}).get("Item")
    if item is None:
        raise NotFoundError(f"no to-do {todo_id!r}")
    return item


@app.route("/todos")
def list_todos():
    items = TABLE.scan().get("Items", [])
    return {"todos": sorted(items, key=lambda item: item["id"])}


@app.route("/todos", methods=["POST"])
def create_todo():
    fields = _validated(app.current_request.json_body, partial=False)
    item = {"id": uuid.uuid4().hex, "title": fields["title"], "done": fields.get("done", False)}
    TABLE.put_item(Item=item)
    return Response(item, status_code=201, headers={"Location": f"/todos/{item['id']}"})


@app.route("/todos/{todo_id}")
def get_todo(todo_id):
    return _get(todo_id)


@app.route("/todos/{todo_id}", methods=["PUT"])
def update_todo(todo_id):
    fields = _validated(app.current_request.json_body, partial=True)
    item = {**_get(todo_id), **fields}
    TABLE.put_item(Item=item)
    return item


@app.route("/todos/{todo_id}", methods=["DELETE"])
def delete_todo(todo_id):
    old = TABLE.delete_item(Key={"id": todo_id}, ReturnValues="ALL_OLD").get("Attributes")
    if old is None:
        raise NotFoundError(f"no to-do {todo_id!r}")
    return Response(None, status_code=204)
