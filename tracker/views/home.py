"""The landing page: where each role starts."""

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    if current_user.role == "administrator":
        return redirect(url_for("admin.index"))
    return redirect(url_for("agreements.register"))
