from microframework import App

# log_level: app.log.info() shows, locally and in CloudWatch Logs (Chalice starts at ERROR).
app = App("{{app_name}}", log_level="INFO")


@app.route("/")
def index():
    return {"hello": "world"}
