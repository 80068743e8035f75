"""Small single-purpose helpers the tests share: polling with a deadline, SSE parsing, /proc
readings, and the guard that keeps process-starting tests marked."""
