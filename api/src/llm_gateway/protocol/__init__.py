"""Pydantic models and typed dicts mirroring the OpenAI spec (requests, responses, chunks)."""
