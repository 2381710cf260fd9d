"""Start the test OpenID provider (provider.mjs) on a free port of 127.0.0.1, for the tracker at `tracker_url`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

OIDC_DIR = Path(__file__).resolve().parent
CLIENT_ID, CLIENT_SECRET = "agreement-tracker", "test-client-secret-0123456789"
PROVIDER_PASSWORD = "provider-password"  # what the provider's own sign-in page accepts


@contextmanager
def provider(tracker_url: str, groups: dict | None = None):
    """The provider's issuer URL while it runs; the tracker's callback and /login are its registered URIs."""
    from tests.conftest import free_port

    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        message = "oidc-provider is not installed: `make test` installs it (tests/oidc)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    env = dict(os.environ, OIDC_PORT=str(port), OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
               OIDC_REDIRECT_URI=f"{tracker_url}/sso/callback", OIDC_POST_LOGOUT_URI=f"{tracker_url}/login",
               OIDC_GROUPS=json.dumps(groups or {}))
    process = subprocess.Popen([node, "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("oidc-provider did not start: " + (process.stdout.read() if process.stdout else ""))
    try:
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=5)


def configure(app, issuer: str) -> None:
    """Point the tracker at the provider, as the OIDC_* environment does in production."""
    app.config.update(OIDC_ISSUER=issuer, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
                      OIDC_PROVIDER_NAME="Example Council", PASSWORD_SIGN_IN=True,
                      OIDC_SCOPES="openid email profile groups")
