from microframework import App, Rate

# log_level: app.log.info() shows, locally and in CloudWatch Logs (Chalice starts at ERROR).
app = App("{{app_name}}", log_level="INFO")


@app.route("/")
def index():
    return {"hello": "world"}


@app.schedule(Rate(1, unit=Rate.HOURS))
def every_hour(event):
    app.log.info("scheduled run at %s", event.time)
    return {"ran_at": event.time}


@app.on_s3_event(bucket="{{uploads_bucket}}", events=["s3:ObjectCreated:*"])
def on_upload(event):
    app.log.info("new object s3://%s/%s", event.bucket, event.key)
    return {"bucket": event.bucket, "key": event.key}


@app.on_sqs_message(queue="{{resource_prefix}}-jobs", batch_size=10)
def on_job(event):
    for record in event:
        app.log.info("job: %s", record.body)
