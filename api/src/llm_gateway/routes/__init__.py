"""HTTP endpoints. Thin: parse once, call the service, pick streaming or JSON."""
