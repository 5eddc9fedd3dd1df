"""web/static served by WhiteNoise (README « Fichiers statiques »): .br/.gz copies chosen by
Accept-Encoding, the pages' security headers, names hashed by bin/digest-assets for url_for."""

import json
from pathlib import Path

from whitenoise import WhiteNoise


def init_app(app) -> None:
    file = Path(app.static_folder) / "cache_manifest.json"
    manifest = json.loads(file.read_text()) if file.is_file() else {}  # not built: plain names
    hashed = {f"{app.static_url_path}/{name}" for name in manifest.values()}

    def add_headers(headers, path, url) -> None:
        for name, value in app.extensions["offre"]["security_headers"].items():
            headers[name] = value
        if url in hashed:  # its name changes with its content
            headers["Cache-Control"] = "public, max-age=31536000, immutable"

    @app.url_defaults
    def hashed_name(endpoint, values) -> None:
        if endpoint == "static" and values.get("filename") in manifest:
            values["filename"] = manifest[values["filename"]]

    # A plain name (as Leaflet's CSS cites its images): 5 minutes, then revalidated by ETag.
    app.wsgi_app = WhiteNoise(app.wsgi_app, app.static_folder, app.static_url_path, max_age=300,
                              allow_all_origins=False, add_headers_function=add_headers)
