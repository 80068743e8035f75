"""Everything the tests share, one small module per job; the test folders hold only tests
and conftests.

- the app in process: `app` (settings, asgi_client)
- real processes on loopback: `server` (gunicorn, `running_server`, `server_fixture`),
  `server_env` (its settings by meaning), `caddy`, `redis_server`, `fake_upstream` (scripted
  OpenAI-compatible upstreams), `processes` (ports, waiting until one serves), `chromium`
- what the answers must be: `sse`, `spec` (the OpenAI document), `sdk_checks` (what every
  backend passes through the official SDK), `edge` (CORS through a proxy), `reliability`
  (chat under load), `oracles` and `strategies` (fuzzing), `scrape` (/metrics), `procfs`
- backends loaded by path: `scripted_backend`, `faulty_backends`
- waiting and guarding: `polling` (one poll loop, with a deadline), `markers` (a test that
  starts a process carries its marker), `docker`
- where things are: `paths`, `default_model`"""
