from microframework import App, BadRequestError, NotFoundError

# log_level: app.log.info() shows, locally and in CloudWatch Logs (Chalice starts at ERROR).
app = App("{{app_name}}", log_level="INFO")

# An in-memory store, to keep the example self-contained: each Lambda instance has its own
# copy and loses it on a cold start, so keep real data in DynamoDB or another service.
ITEMS = {}


@app.route("/")
def index():
    return {"hello": "world"}


def _item_from_request():
    body = app.current_request.json_body
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise BadRequestError('expected a JSON object like {"name": "..."}')
    return {"name": body["name"]}


@app.route("/items")
def list_items():
    return {"items": [{"id": key, **value} for key, value in sorted(ITEMS.items())]}


@app.route("/items", methods=["POST"])
def create_item():
    item_id = str(len(ITEMS) + 1)
    while item_id in ITEMS:
        item_id = str(int(item_id) + 1)
    ITEMS[item_id] = _item_from_request()
    return {"id": item_id, **ITEMS[item_id]}


@app.route("/items/{item_id}")
def get_item(item_id):
    if item_id not in ITEMS:
        raise NotFoundError(f"no item {item_id!r}")
    return {"id": item_id, **ITEMS[item_id]}


@app.route("/items/{item_id}", methods=["PUT"])
def update_item(item_id):
    if item_id not in ITEMS:
        raise NotFoundError(f"no item {item_id!r}")
    ITEMS[item_id] = _item_from_request()
    return {"id": item_id, **ITEMS[item_id]}


@app.route("/items/{item_id}", methods=["DELETE"])
def delete_item(item_id):
    if ITEMS.pop(item_id, None) is None:
        raise NotFoundError(f"no item {item_id!r}")
    return {"deleted": item_id}
