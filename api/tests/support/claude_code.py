"""A `POST /v1/messages` body shaped like the ones Claude Code sends: system prompt as blocks
with `cache_control`, a `system` turn mid-conversation, thinking blocks in history, a tool
round trip, a dozen tools with JSON-schema inputs, adaptive thinking, context management,
output effort, `metadata.user_id`, a large `max_tokens`, streaming."""

from __future__ import annotations

from typing import Any

EPHEMERAL = {"type": "ephemeral"}

TOOL_NAMES = (
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "Read",
    "Edit",
    "Write",
    "NotebookEdit",
    "WebFetch",
    "TodoWrite",
    "BashOutput",
    "mcp__ide__getDiagnostics",
)


def tool(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} tool.",
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "file_path": {"type": "string", "description": "Absolute path"},
                "limit": {"type": "number"},
            },
            "required": ["file_path"],
            "additionalProperties": False,
        },
    }


def claude_code_request() -> dict[str, Any]:
    tools = [tool(name) for name in TOOL_NAMES]
    tools[-1]["cache_control"] = EPHEMERAL
    return {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 128000,
        "stream": True,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.0;"},
            {
                "type": "text",
                "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
            {
                "type": "text",
                "text": "You are an interactive CLI tool that helps users with software "
                "engineering tasks.",
                "cache_control": EPHEMERAL,
            },
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>Use the context.</system-reminder>",
                    },
                    {"type": "text", "text": "What does main.py print?"},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Read the file.", "signature": "c2ln"},
                    {"type": "text", "text": "Let me read it."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "Read",
                        "input": {"file_path": "/repo/main.py"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                        "content": [{"type": "text", "text": "     1\tprint('hi')"}],
                    },
                    {"type": "text", "text": "Answer briefly.", "cache_control": EPHEMERAL},
                ],
            },
            {"role": "system", "content": "The user switched to plan mode."},
            {"role": "user", "content": "And now?"},
        ],
        "tools": tools,
        "tool_choice": {"type": "auto"},
        "metadata": {"user_id": "user_2f1d_account_9c4e_session_5b1a"},
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
    }
