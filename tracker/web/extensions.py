"""The web layer's Flask extensions, made once and bound to the app by `create_app`."""

from flask_htmx import HTMX
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
htmx = HTMX()  # every htmx decision reads the request through this (htmx, htmx.target)
login_manager = LoginManager()
