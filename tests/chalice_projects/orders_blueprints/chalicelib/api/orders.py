import json
import uuid

import boto3
from chalice import Blueprint, NotFoundError, Response

from ..store import orders_table, queue_url

orders = Blueprint(__name__)
_sqs = boto3.client("sqs")


@orders.route("/orders", methods=["POST"])
def place_order():
    order = dict(orders.current_request.json_body or {}, order_id=str(uuid.uuid4()))
    _sqs.send_message(QueueUrl=queue_url(), MessageBody=json.dumps(order))
    return Response({"order_id": order["order_id"]}, status_code=202)


@orders.route("/orders/{order_id}")
def get_order(order_id):
    item = orders_table().get_item(Key={"order_id": order_id}).get("Item")
    if item is None:
        raise NotFoundError(order_id)
    return item
