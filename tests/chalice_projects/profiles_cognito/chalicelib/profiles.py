import os

import boto3

_dynamodb = boto3.client("dynamodb")
_s3 = boto3.client("s3")


def load(sub):
    item = _dynamodb.get_item(TableName=os.environ["PROFILES_TABLE"], Key={"sub": {"S": sub}}).get(
        "Item"
    )
    if item is None:
        return None
    return {name: value["S"] for name, value in item.items()}


def save(sub, fields):
    names = sorted(k for k in fields if k in ("display_name", "bio"))
    if not names:
        return load(sub)
    response = _dynamodb.update_item(
        TableName=os.environ["PROFILES_TABLE"],
        Key={"sub": {"S": sub}},
        UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in names),
        ExpressionAttributeNames={f"#{n}": n for n in names},
        ExpressionAttributeValues={f":{n}": {"S": str(fields[n])} for n in names},
        ReturnValues="ALL_NEW",
    )
    return {name: value["S"] for name, value in response["Attributes"].items()}


def avatar_upload_url(sub):
    return _s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": os.environ["AVATAR_BUCKET"], "Key": f"avatars/{sub}.png"},
        ExpiresIn=300,
    )
