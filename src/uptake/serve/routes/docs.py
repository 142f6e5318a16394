"""The API's interactive documentation, served from this machine (it works offline).

Swagger UI 5 (the release line that reads OpenAPI 3.1, which FastAPI writes; Swagger UI 4
answers "Unable to render this definition") from the ``fastapi-swagger`` package's files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
#: Swagger UI's files (swagger-ui-bundle.js, swagger-ui.css, favicon), mounted at /static/swagger.
SWAGGER_UI = Path(str(files("fastapi_swagger") / "resources"))


@router.get("/docs", response_class=HTMLResponse)
async def swagger(request: Request) -> HTMLResponse:
    """Swagger UI 5 from the fastapi-swagger package (mounted at /static/swagger), not a public CDN."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon-32x32.png",
    )


__all__ = ["SWAGGER_UI", "router"]
