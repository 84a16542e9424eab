"""A small stand-in for Stripe's API on 127.0.0.1, which the real `stripe` library talks to through STRIPE_API_BASE.

It answers POST /v1/checkout/sessions and /v1/billing_portal/sessions with objects shaped like Stripe's,
records the form-encoded parameters each request carried (so tests can check what the app asked for), and
serves a tiny checkout page whose "Pay" button returns to the session's success_url, as Stripe Checkout does.
"""

from __future__ import annotations

import html
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Turn Stripe's form encoding (metadata[user_id]=1, line_items[0][price]=p) back into nested values."""
    result: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


class StripeStub:
    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.sessions: dict[str, dict] = {}
        self.failures = 0  # how many of the next requests to answer with a server error
        self._ids = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = unflatten(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                path = urlparse(self.path).path
                stub.requests.append((path, params))
                if stub.failures:
                    stub.failures -= 1
                    return self.answer(500, {"error": {"type": "api_error", "message": "Stub failure"}})
                if path == "/v1/checkout/sessions":
                    return self.answer(200, stub.checkout_session(params))
                if path == "/v1/billing_portal/sessions":
                    n = next(stub._ids)
                    return self.answer(
                        200,
                        {
                            "id": f"bps_test_{n}",
                            "object": "billing_portal.session",
                            "customer": params.get("customer"),
                            "return_url": params.get("return_url"),
                            "url": f"{stub.url}/p/session/bps_test_{n}",
                            "livemode": False,
                        },
                    )
                return self.answer(404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}})

            def do_DELETE(self):
                path = urlparse(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                params = unflatten(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                params |= unflatten(parse_qsl(urlparse(self.path).query, keep_blank_values=True))
                stub.requests.append((path, params))
                if path.startswith("/v1/subscriptions/"):
                    return self.answer(
                        200,
                        {
                            "id": path.rsplit("/", 1)[-1],
                            "object": "subscription",
                            "status": "canceled",
                            "canceled_at": int(time.time()),
                        },
                    )
                return self.answer(404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}})

            def do_GET(self):
                path = urlparse(self.path).path
                if path.startswith("/c/pay/"):
                    session = stub.sessions.get(path.rsplit("/", 1)[-1])
                    if session is None:
                        return self.page(404, "<h1>No such checkout</h1>")
                    return self.page(
                        200,
                        (
                            "<main><h1>Pay Stay &amp; Celebrate</h1>"
                            f"<p>Plan: {html.escape(session['metadata']['plan_tier'])}</p>"
                            f"<a id='pay' href='{html.escape(session['success_url'])}'>Pay</a> "
                            f"<a id='cancel' href='{html.escape(session['cancel_url'])}'>Back</a></main>"
                        ),
                    )
                if path.startswith("/p/session/"):
                    return self.page(200, "<main><h1>Billing portal</h1></main>")
                return self.page(404, "<h1>Not found</h1>")

            def answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_stub_{next(stub._ids)}")
                self.end_headers()
                self.wfile.write(data)

            def page(self, status: int, body: str):
                data = f"<!doctype html><html lang='en'><title>Stripe stub</title>{body}</html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def checkout_session(self, params: dict) -> dict:
        session_id = f"cs_test_{next(self._ids)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "client_reference_id": params.get("client_reference_id"),
            "customer": params.get("customer"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "status": "open",
            "payment_status": "unpaid",
            "created": int(time.time()),
            "livemode": False,
            "url": f"{self.url}/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return session

    def last(self, path: str) -> dict:
        return next(params for p, params in reversed(self.requests) if p == path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
