"""Static files served by WhiteNoise under names that carry their content's hash.

At start-up each file in static/ is hashed and a copy named after its content
(css/app.css -> css/app.3f2a9c1b7d04.css) is written to build/static/ (or,
where the code's folder is read-only, the instance folder's static/) beside
its gzip and brotli versions; a copy already there is reused, so a restart
costs only the hashing. url_for('static', ...) gives the hashed name, which
WhiteNoise serves with a ten-year, immutable Cache-Control: a changed file has
a new name, so no browser keeps a stale one. The plain names are still served
(briefly cached) for anything that asks for them by hand, such as a source map.

WhiteNoise's own hashed-name storage is Django's; this is the same idea for Flask.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]  # the checkout: tracker/web/assets.py
BUILD = ROOT / "build" / "static"
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
# Files copied under a hashed name (and compressed): what pages link to.
SERVED = {".css", ".js", ".svg"}
# A module's relative imports ('./govuk-frontend.min.js') point at the hashed copies too.
JS_IMPORT = re.compile(r"""(from\s*|import\s*\(?\s*)(['"])\./([\w.-]+\.js)\2""")


def hashed_name(name: str, data: bytes) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}.{ext}"


def _write(path: Path, data: bytes) -> None:
    """Write atomically: another process starting at the same time may write the same file."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _compressed(data: bytes) -> dict[str, bytes]:
    copies = {".gz": gzip.compress(data, compresslevel=9, mtime=0)}
    try:
        import brotli
    except ImportError:  # brotli is in requirements.txt; without it gzip alone is served
        pass
    else:
        copies[".br"] = brotli.compress(data)
    # Only where it pays (WhiteNoise serves whichever copy exists).
    return {suffix: body for suffix, body in copies.items() if len(body) < len(data) * 0.95}


def _folder_of(name: str) -> str:
    return name.rpartition("/")[0]


def _imports(static: Path, name: str) -> set[str]:
    """The static files a module imports by a relative name."""
    if not name.endswith(".js"):
        return set()
    folder = _folder_of(name)
    text = (static / name).read_text(encoding="utf-8", errors="replace")
    return {f"{folder}/{m.group(3)}" if folder else m.group(3) for m in JS_IMPORT.finditer(text)}


def _with_hashed_imports(name: str, data: bytes, manifest: dict[str, str]) -> bytes:
    if not name.endswith(".js"):
        return data
    folder = _folder_of(name)

    def to_hashed(match):
        target = f"{folder}/{match.group(3)}" if folder else match.group(3)
        if target not in manifest:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}./{manifest[target].rpartition('/')[2]}{match.group(2)}"

    return JS_IMPORT.sub(to_hashed, data.decode("utf-8")).encode("utf-8")


def build(static: Path, out: Path = BUILD) -> dict[str, str]:
    """Write hashed, compressed copies of static/'s files to out; return {name: hashed name}."""
    manifest: dict[str, str] = {}
    pending = sorted(p.relative_to(static).as_posix() for p in static.rglob("*")
                     if p.is_file() and p.suffix in SERVED)
    while pending:
        # A script waits until the modules it imports have their hashed names.
        ready = [n for n in pending if not (_imports(static, n) & set(pending))] or pending[:1]
        for name in ready:
            pending.remove(name)
            data = _with_hashed_imports(name, (static / name).read_bytes(), manifest)
            manifest[name] = hashed_name(name, data)
            target = out / manifest[name]
            if not target.exists():
                for suffix, body in _compressed(data).items():
                    _write(target.with_name(target.name + suffix), body)
                _write(target, data)  # last: its presence says the copies are there
    return manifest


def _is_hashed(path: str, url: str) -> bool:
    return bool(HASHED.search(url))


def _headers(headers, path: str, url: str) -> None:
    headers["X-Content-Type-Options"] = "nosniff"


def _favicon(served, static: Path) -> None:
    """/favicon.ico, which browsers ask for whatever the page links to, served by
    WhiteNoise from static/favicon.ico like any plain-named static file (briefly
    cached, not the pages' no-store): without it every first visit logs a 404."""
    icon = static / "favicon.ico"
    if icon.is_file():
        served.files["/favicon.ico"] = served.get_static_file(str(icon), "/favicon.ico")


def _compress_pages(app: Flask) -> None:
    """Pages (HTML, CSV, JSON) compressed with brotli or gzip when the browser asks
    (Accept-Encoding), with Vary: Accept-Encoding. Static files never reach Flask:
    WhiteNoise serves their precompressed copies (build())."""
    from flask_compress import Compress

    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/csv", "text/plain", "application/json"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)  # 66 KB of dashboard HTML to ~5 KB in about a millisecond
    app.config.setdefault("COMPRESS_STREAMS", False)  # a streamed download goes as it is made
    Compress(app)


def init_app(app: Flask) -> None:
    from whitenoise import WhiteNoise

    static = Path(app.static_folder)
    out = BUILD
    try:
        manifest = build(static, out)
    except OSError:
        # Installed where the code cannot be written to: the instance folder instead.
        out = Path(app.instance_path) / "static"
        manifest = build(static, out)
    served = WhiteNoise(app.wsgi_app, root=str(out), prefix="static/",
                        immutable_file_test=_is_hashed, add_headers_function=_headers)
    # Only this start's hashed names (build/ may hold older ones), and the plain names.
    current = {f"/static/{hashed}" for hashed in manifest.values()}
    served.files = {url: f for url, f in served.files.items() if url in current}
    served.add_files(str(static), prefix="static/")
    app.wsgi_app = served
    app.extensions["static_manifest"] = manifest

    _favicon(served, static)
    _compress_pages(app)

    @app.url_defaults
    def hashed_static(endpoint, values):
        if endpoint == "static" and values.get("filename") in manifest:
            values["filename"] = manifest[values["filename"]]
