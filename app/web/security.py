"""Security headers on every response (issue 11 §2, defect 7).

- Content-Security-Policy: scripts and styles only from our own /static/ files. No page needs inline script
  (behaviour is wired by data- attributes in app/web/static/*.js) nor inline style (app/web/static/*.css), so
  neither 'unsafe-inline' is allowed: an injected <script>, on*= handler, javascript: link or <style> does not run.
  frame-ancestors 'none' (with X-Frame-Options for older browsers): no page, e.g. 签发 or 注销, can be framed.
  form-action 'self': a form cannot post, or be redirected after posting, to another site.
- nosniff, Referrer-Policy same-origin (our URLs carry project codes and numbers: other sites get no referrer).
- Cache-Control no-store on whatever is personal: every response to a signed-in session (pages, PDFs, attachments)
  and every page carrying a CSRF token (the login form), so no shared or back-button cache keeps them.
- Strict-Transport-Security only when APP_ENV=production (served over HTTPS there; local runs use plain HTTP).
Headers a view set itself (e.g. the PDFs' sandboxing CSP) are kept.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, g, request, session

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def init(app: Flask) -> None:
    app.after_request(security_headers)


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("ENV_NAME") == "production":
        headers.setdefault("Strict-Transport-Security", f"max-age={current_app.config['HSTS_MAX_AGE']}")
    if _personal() and "no-store" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = "no-store"
    return response


def _personal() -> bool:
    """A signed-in session's response, or a page holding a CSRF token. Static files are shared and stay cacheable."""
    if request.endpoint == "static":
        return False
    # "csrf_token" in g: flask-wtf keeps the token it rendered into this page there
    return "_user_id" in session or "csrf_token" in g
