"""Hello world: the smallest fw app, plus a route with a path parameter."""

from microframework import App

app = App("hello")


@app.route("/")
def index():
    return {"hello": "world"}


@app.route("/hello/{name}")
def hello_name(name):
    # Path parameters arrive percent-decoded, as API Gateway passes them.
    return {"hello": name}
