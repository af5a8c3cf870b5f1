"""Logins for the web app, and the viewer of each request.

The Gradio app is mounted in a small FastAPI app that owns the login: `/login` (a form, and
the POST that `gradio_client.Client(auth=...)` sends), `/logout`, and `/kb/file/{id}`, which
serves a stored file only to a viewer who may see its document. Gradio asks `Gate.user_for`
who a request is (its `auth_dependency`): a session cookie (expiring, kept hashed in the
store), or the user header of the trusted reverse proxy, honoured only when the request
comes from the proxy's own address. Without any account (and without KB_AUTH) everybody is
the one local user, as before accounts existed.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from kb.access import LoginDelayed, Viewer
from kb.core import KnowledgeBase

COOKIE = "kb-session"
LOCAL = "local"  # the user name Gradio sees for everybody when no account exists
FILE_ROUTE = "/kb/file/"

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in — knowledge base</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:5rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.err{color:#a00}</style></head>
<body><h1>Digital strategy knowledge base</h1><p>Log in with your account.</p>{error}
<form method="post" action="login"><label for="u">User name</label>
<input id="u" name="username" autocomplete="username" required autofocus>
<label for="p">Password</label>
<input id="p" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button></form></body></html>"""


def file_url(document_id: str, page: int | None = None) -> str:
    """The link that opens a document's stored file (at a page), checked per viewer."""
    return FILE_ROUTE + quote(document_id) + (f"#page={page}" if page else "")


_BUILDING = contextvars.ContextVar("building_page", default=False)


@contextlib.contextmanager
def building_page() -> Iterator[None]:
    """While the app is built: values computed now land in the page's config, which every
    logged-in user gets (even when the first account is added while the app runs), so
    they hold only what anyone may see."""
    token = _BUILDING.set(True)
    try:
        yield
    finally:
        _BUILDING.reset(token)


def viewer_for(kb: KnowledgeBase, request=None) -> Viewer:
    """The viewer of a Gradio request (`gr.Request`; its `username` is what `Gate.user_for`
    said). Without accounts everybody is the local user, except while the page is built
    (`building_page`: regional documents only); a call without a request once accounts
    exist sees only regional documents too."""
    if _BUILDING.get():
        return Viewer.public()
    if not kb.accounts.enabled:
        return Viewer.local()
    name = getattr(request, "username", None) if request is not None else None
    viewer = kb.accounts.viewer(name) if name and name != LOCAL else None
    return viewer or Viewer.public()


class Gate:
    """Who a request is: the trusted proxy's header, else a session cookie."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.proxies = set(kb.settings.trusted_proxy)
        self.header = kb.settings.user_header

    def address(self, request) -> str:
        return request.client.host if request.client else ""

    def proxy_user(self, request) -> str | None:
        """The user named by the trusted proxy; from any other address the header is
        ignored (a forged header proves nothing)."""
        if not self.proxies or not self.header or self.address(request) not in self.proxies:
            return None
        name = (request.headers.get(self.header) or "").strip()
        return name if name and self.kb.accounts.viewer(name) is not None else None

    def user_for(self, request) -> str | None:
        """Gradio's `auth_dependency`: the user name, or None (401: not logged in)."""
        if not self.kb.accounts.enabled and not self.proxies:
            return LOCAL
        name = self.proxy_user(request)
        if name:
            return name
        viewer = self.kb.accounts.session_viewer(request.cookies.get(COOKIE))
        return viewer.name if viewer else None

    def viewer(self, request) -> Viewer | None:
        name = self.user_for(request)
        if name is None:
            return None
        if name == LOCAL and not self.kb.accounts.enabled:
            return Viewer.local()
        return self.kb.accounts.viewer(name)


def server(kb: KnowledgeBase, blocks, css: str = "", head: str = ""):
    """The FastAPI app serving `blocks` behind the login (run it with uvicorn)."""
    import gradio as gr

    gate = Gate(kb)
    app = FastAPI()

    @app.middleware("http")
    async def to_login(request: Request, call_next):
        # A browser without a session gets the login form instead of Gradio's bare 401.
        if request.method == "GET" and request.url.path == "/" and gate.user_for(request) is None:
            return RedirectResponse("login", status_code=303)
        return await call_next(request)

    @app.get("/login")
    def login_form(error: str = "") -> HTMLResponse:
        note = '<p class="err">Wrong user name or password.</p>' if error else ""
        return HTMLResponse(LOGIN_PAGE.replace("{error}", note))

    @app.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...)):
        browser = "text/html" in request.headers.get("accept", "")
        try:
            viewer = kb.accounts.authenticate(username.strip(), password, gate.address(request))
        except LoginDelayed as e:
            return JSONResponse({"detail": str(e)}, status_code=429,
                                headers={"Retry-After": str(max(1, round(e.seconds)))})
        if viewer is None:
            if browser:
                return RedirectResponse("login?error=1", status_code=303)
            return JSONResponse({"detail": "Incorrect credentials."}, status_code=401)
        token = kb.accounts.open_session(viewer.name)
        response = (RedirectResponse("./", status_code=303) if browser
                    else JSONResponse({"success": True}))  # fmt: skip
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https",
                            max_age=int(kb.accounts.session_seconds))  # fmt: skip
        return response

    @app.get("/logout")
    def logout(request: Request):
        kb.accounts.close_session(request.cookies.get(COOKIE))
        response = RedirectResponse("login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get(FILE_ROUTE + "{document_id}")
    def stored_file(document_id: str, request: Request):
        viewer = gate.viewer(request)
        if viewer is None:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        doc = kb.document(document_id, viewer)
        files = (kb.home / "files").resolve()
        path = (kb.home / doc.stored_path).resolve() if doc and doc.stored_path else None
        # The same answer for a hidden document as for none: its existence does not show.
        if path is None or files not in path.parents or not path.is_file():
            return JSONResponse({"detail": "Not found"}, status_code=404)
        return FileResponse(path, filename=Path(doc.source).name,  # type: ignore[union-attr]
                            content_disposition_type="inline")  # fmt: skip

    return gr.mount_gradio_app(
        app, blocks, path="/", auth_dependency=gate.user_for, css=css, head=head, ssr_mode=False,
        max_file_size=kb.settings.max_file_bytes,
    )  # fmt: skip
