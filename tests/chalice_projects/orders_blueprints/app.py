import json
import os

import boto3
from chalice import Chalice
from chalicelib.api.health import health
from chalicelib.api.orders import orders
from chalicelib.store import orders_table

app = Chalice(app_name="orders-blueprints")
app.register_blueprint(health)
app.register_blueprint(orders, url_prefix="/v1")

_events = boto3.client("events")


@app.on_sqs_message(queue="orders-queue", batch_size=5)
def fulfil_orders(event):
    accepted = []
    with orders_table().batch_writer() as batch:
        for record in event:
            order = json.loads(record.body)
            batch.put_item(Item={**order, "status": "accepted"})
            accepted.append(order["order_id"])
    _events.put_events(
        Entries=[
            {
                "Source": "orders",
                "DetailType": "OrderAccepted",
                "Detail": json.dumps({"order_id": order_id}),
                "EventBusName": os.environ.get("EVENT_BUS", "default"),
            }
            for order_id in accepted
        ]
    )
    return {"accepted": accepted}
