"""Hello world: the smallest fw app, plus a route with a path parameter."""

from urllib.parse import unquote

from microframework import App

app = App("hello")


@app.route("/")
def index():
    return {"hello": "world"}


@app.route("/hello/{name}")
def hello_name(name):
    # A REST API passes path parameters as the client sent them, percent-escapes included
    # ("/hello/ada%20l" gives "ada%20l"): decode them where the view needs the text.
    return {"hello": unquote(name)}
