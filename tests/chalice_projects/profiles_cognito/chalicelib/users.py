import os

import boto3

_idp = boto3.client("cognito-idp")


def list_usernames():
    pages = _idp.get_paginator("list_users").paginate(UserPoolId=os.environ["USER_POOL_ID"])
    return [user["Username"] for page in pages for user in page["Users"]]


def disable(username):
    _idp.admin_disable_user(UserPoolId=os.environ["USER_POOL_ID"], Username=username)
