"""Response headers that every page carries: CSP, framing, sniffing, referrer and caching rules."""

from flask import Flask, Response, request, session

# Scripts only from our own origin: no inline script, no hx-on, no eval. Inline style attributes
# (bar widths, meters) are allowed; they cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self' https://checkout.stripe.com https://billing.stripe.com",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def content_security_policy(app: Flask) -> str:
    """Return the policy; a Stripe stand-in (STRIPE_API_BASE, in tests) may receive the checkout forms too."""
    base = app.config.get("STRIPE_API_BASE")
    if not base:
        return CONTENT_SECURITY_POLICY
    origin = "/".join(base.split("/")[:3])
    return CONTENT_SECURITY_POLICY.replace("https://billing.stripe.com", f"https://billing.stripe.com {origin}")


def may_be_signed_in(app: Flask) -> bool:
    """Tell from the cookies alone whether the request may be signed in (a sign-in that ended still counts).

    Loading the user to find out would cost a query, and in a POST that has committed a second write
    transaction, on answers that only need to stay out of shared caches.
    """
    return "_user_id" in session or bool(request.cookies.get(app.config.get("REMEMBER_COOKIE_NAME", "remember_token")))


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(app))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        private = request.endpoint != "static" and (may_be_signed_in(app) or response.mimetype == "text/csv")
        if private:
            # Signed-in pages and exports hold personal data: never keep them in a shared or back/forward cache.
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response
