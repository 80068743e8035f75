"""Translators: one per API shape, turning a parsed request into what the service runs (the
prompt, the sampling, the tools) and naming what nothing will honour. Pure functions: no
backend, no HTTP."""
