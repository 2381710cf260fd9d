from flask import Blueprint

bp = Blueprint("sso", __name__)
