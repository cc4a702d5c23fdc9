from microframework.testing import Client

from app import ITEMS, app


def test_index():
    with Client(app) as client:
        assert client.http.get("/").json_body == {"hello": "world"}


def test_create_read_update_delete():
    ITEMS.clear()
    with Client(app) as client:
        created = client.http.post("/items", json={"name": "milk"})
        assert created.status_code == 200
        item_id = created.json_body["id"]
        assert client.http.get(f"/items/{item_id}").json_body == {"id": item_id, "name": "milk"}
        client.http.put(f"/items/{item_id}", json={"name": "bread"})
        assert client.http.get("/items").json_body == {"items": [{"id": item_id, "name": "bread"}]}
        assert client.http.delete(f"/items/{item_id}").status_code == 200
        assert client.http.get(f"/items/{item_id}").status_code == 404


def test_bad_input_is_a_400():
    with Client(app) as client:
        assert client.http.post("/items", json={"title": 1}).status_code == 400
