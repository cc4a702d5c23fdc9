"""Event handlers for S3, SQS, SNS and a schedule, each recording what it saw.

Every handler logs one JSON line (CloudWatch Logs in Lambda, the terminal with ``fw local`` or
``fw invoke --local``) and appends it to ``SEEN``, which the tests read.
"""

import json

from microframework import App, Rate

app = App("events")
SEEN = []


def _record(kind, **details):
    entry = {"kind": kind, **details}
    SEEN.append(entry)
    print(json.dumps(entry))
    return entry


@app.on_s3_event(bucket="fw-sample-uploads", events=["s3:ObjectCreated:*"], suffix=".csv")
def on_upload(event):
    return _record("s3", bucket=event.bucket, key=event.key, event=event.event_name)


@app.on_sqs_message(queue="fw-sample-jobs", batch_size=10)
def on_job(event):
    for record in event:
        if record.body == "poison":
            # Only this message goes back to the queue (a partial batch response).
            event.report_failure(record)
            continue
        _record("sqs", body=record.body)


@app.on_sns_message(topic="fw-sample-news")
def on_news(event):
    return _record("sns", subject=event.subject, message=event.message)


@app.schedule(Rate(15, unit=Rate.MINUTES))
def every_quarter_hour(event):
    return _record("schedule", time=event.time, rule=event.resources[0].rsplit("/", 1)[-1])
