"""GET /docs: Swagger UI with its assets served by us, so the interactive documentation
works without internet. The assets (Swagger UI's JavaScript bundle, stylesheet and icon)
come from the ``fastapi-offline`` package (a dependency of the ``api`` extra) and are
served under :data:`ASSETS_URL`; nothing is loaded from a CDN, and Swagger UI's online
validator is switched off (it would call validator.swagger.io)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def assets_dir() -> Path:
    """The folder of the installed package that holds Swagger UI's files."""
    return Path(str(files(fastapi_offline) / "static"))


def add_docs(app: FastAPI, title: str) -> None:
    """Serve Swagger UI at ``/docs`` over the app's ``/openapi.json``, from our own assets."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} · docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "deepLinking": True},
        )
