import json

from chalice import Chalice
from chalicelib import labels, notify

app = Chalice(app_name="media-labels")
app.debug = True


@app.on_s3_event(
    bucket="media-labels-uploads", events=["s3:ObjectCreated:*"], prefix="incoming/", suffix=".jpg"
)
def on_upload(event):
    names = labels.detect(event.bucket, event.key)
    labels.save_result(event.bucket, event.key, names)
    notify.publish_labels(event.bucket, event.key, names)
    return {"key": event.key, "labels": names}


@app.on_sns_message(topic="media-labels-results")
def on_labels(event):
    result = json.loads(event.message)
    if notify.needs_review(result["labels"]):
        labels.flag(result["bucket"], result["key"])
        app.log.info("flagged %s for review", result["key"])
        return {"flagged": result["key"]}
    return {"flagged": None}
