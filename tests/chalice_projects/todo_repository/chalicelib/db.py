"""Data access for todos: the views never touch DynamoDB directly."""

import os
import uuid

import boto3
from boto3.dynamodb.conditions import Key


class TodoRepository:
    def __init__(self, table_resource):
        self._table = table_resource

    @classmethod
    def from_environment(cls):
        return cls(boto3.resource("dynamodb").Table(os.environ["APP_TABLE_NAME"]))

    def list_items(self, username):
        response = self._table.query(KeyConditionExpression=Key("username").eq(username))
        return response["Items"]

    def add_item(self, username, description, metadata=None):
        uid = str(uuid.uuid4())
        self._table.put_item(
            Item={
                "username": username,
                "uid": uid,
                "description": description,
                "state": "unstarted",
                "metadata": metadata or {},
            }
        )
        return uid

    def get_item(self, username, uid):
        response = self._table.get_item(Key={"username": username, "uid": uid})
        return response.get("Item")

    def update_item(self, username, uid, description=None, state=None):
        updates, names, values = [], {}, {}
        if description is not None:
            updates.append("description = :d")
            values[":d"] = description
        if state is not None:
            updates.append("#s = :s")
            names["#s"] = "state"  # a reserved word in DynamoDB expressions
            values[":s"] = state
        if not updates:
            return
        request = {
            "Key": {"username": username, "uid": uid},
            "UpdateExpression": "SET " + ", ".join(updates),
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        self._table.update_item(**request)

    def delete_item(self, username, uid):
        self._table.delete_item(Key={"username": username, "uid": uid})
