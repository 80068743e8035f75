"""Translators: one per API shape, each turning a parsed request into a `service.Call`.

A translator resolves the model for its endpoint, checks the limits, maps the shape's fields
onto `GenerationRequest`s (prompt groups) and names the fields nothing honours. The rules
several shapes share (text-only content, tool choice, completion-token limits, ignored
fields) are written once, in `rules`.
"""
