import os

from chalice import Chalice, CognitoUserPoolAuthorizer, ForbiddenError
from chalicelib import profiles, users

app = Chalice(app_name="profiles-cognito")

authorizer = CognitoUserPoolAuthorizer(
    "ProfilesPool", provider_arns=[os.environ.get("USER_POOL_ARN", "")]
)


def claims():
    return app.current_request.context["authorizer"]["claims"]


def require_admin():
    groups = claims().get("cognito:groups", "")
    if "admins" not in groups.split(","):
        raise ForbiddenError("admins only")


@app.route("/me", authorizer=authorizer)
def me():
    return profiles.load(claims()["sub"]) or {"sub": claims()["sub"], "email": claims()["email"]}


@app.route("/me", methods=["PUT"], authorizer=authorizer)
def update_me():
    return profiles.save(claims()["sub"], app.current_request.json_body or {})


@app.route("/me/avatar", methods=["POST"], authorizer=authorizer)
def avatar_upload_url():
    return {"url": profiles.avatar_upload_url(claims()["sub"])}


@app.route("/admin/users", authorizer=authorizer)
def list_users():
    require_admin()
    return users.list_usernames()


@app.route("/admin/users/{username}/disable", methods=["POST"], authorizer=authorizer)
def disable_user(username):
    require_admin()
    users.disable(username)
    return {"disabled": username}
