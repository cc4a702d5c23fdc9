from microframework import App

app = App("{{app_name}}")


@app.route("/")
def index():
    return {"hello": "world"}
