"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and break streaming)."""
