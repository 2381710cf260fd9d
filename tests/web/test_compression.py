"""Issue 24, item 5: pages compressed when the browser asks, no dead image in the
stylesheet, and /favicon.ico served and cached like a static file."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

from tests.conftest import PASSWORD

STATIC = Path(__file__).resolve().parents[2] / "static"
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.mark.parametrize("path", ["/", "/account/sessions", "/login"])
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_page_comes_compressed_when_asked(app, client, people, path, encoding):
    if path != "/login":
        client.post("/login", data={"email": people.manager.email, "password": PASSWORD})
    plain = client.get(path)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers.get("Vary", "")
    packed = client.get(path, headers={"Accept-Encoding": f"{encoding}, deflate"})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert packed.headers.get("Cache-Control") == "no-store"  # still a page: never kept in a shared cache
    body = DECODE[encoding](packed.data).decode()
    # The same page (bar the CSRF token and the session's own times), and smaller.
    token = re.compile(r'value="[^"]{20,}"')
    assert token.sub("", body) == token.sub("", plain.get_data(as_text=True))
    assert len(packed.data) < len(plain.data) / 2


def test_stylesheet_points_only_at_files_that_exist():
    css = (STATIC / "css" / "app.css").read_text(encoding="utf-8-sig")
    for url in re.findall(r'url\(\s*["\']?([^"\')]+)', css):
        if url.startswith("data:"):
            continue
        assert url.startswith("/static/"), url
        assert (STATIC / url.removeprefix("/static/")).is_file(), f"app.css points at {url}, which is not there"


def test_favicon_is_served_and_cached_like_static_files(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.data == (STATIC / "favicon.ico").read_bytes()
    assert icon.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
    assert "no-store" not in icon.headers.get("Cache-Control", "")
    static = client.get("/static/favicon.svg")
    assert icon.headers.get("Cache-Control") == static.headers.get("Cache-Control")
    assert re.search(r"max-age=\d+", icon.headers["Cache-Control"])
