"""The embedded default model: llama.cpp through llama-cpp-python (`backend.LlamaBackend`)."""
