from chalice import Blueprint

health = Blueprint(__name__)


@health.route("/health")
def ping():
    return {"status": "ok"}
