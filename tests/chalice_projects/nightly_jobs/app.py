import json
import time

from chalice import Chalice, Cron, Rate
from chalicelib import jobs

app = Chalice(app_name="nightly-jobs")


@app.middleware("all")
def timing(event, get_response):
    start = time.monotonic()
    try:
        return get_response(event)
    finally:
        # One structured line per invocation, for a CloudWatch Logs metric filter.
        elapsed = (time.monotonic() - start) * 1000
        print(json.dumps({"event": type(event).__name__, "elapsed_ms": round(elapsed, 1)}))


@app.schedule(Cron(0, 2, "*", "*", "?", "*"))
def nightly_cleanup(event):
    removed = jobs.remove_expired_sessions(now=int(time.time()))
    jobs.record_metric("ExpiredSessionsRemoved", removed)
    return {"removed": removed}


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly_report(event):
    report = jobs.session_report()
    jobs.publish_report(report)
    return report


@app.route("/status")
def status():
    return {"threshold": jobs.expiry_threshold()}
