"""The embedded default model: llama.cpp through llama-cpp-python (`backend.LlamaBackend`).

Nothing is imported here, so `default_model` runs without llama-cpp-python installed.
"""
