"""The embedded default model: llama.cpp through llama-cpp-python."""

from .backend import LlamaBackend

__all__ = ["LlamaBackend"]
