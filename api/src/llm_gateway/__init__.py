"""An OpenAI-compatible API server in front of your own language models."""

__version__ = "0.1.0"
