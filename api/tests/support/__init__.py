"""Everything the tests share, one small module per job: the app in process (`app`), a real
gunicorn server and the fixtures that run one (`server`), Caddy (`caddy`), Redis
(`redis_server`), the default model (`default_model`), SSE parsing (`sse`), polling with a
deadline (`polling`), the OpenAI spec (`spec`) and the SDK checks every backend passes
(`sdk_checks`), /metrics (`scrape`), chat requests under load (`reliability`), the HTTPS and
CORS checks of a proxy (`edge`), Docker (`docker`), backends loaded by path
(`scripted_backend`, `faulty_backends`), /proc readings (`procfs`), and the guard that keeps
process-starting tests marked (`markers`)."""
