"""What every server is asked in the model runs: the same prompts, sampling and length.

Distinct prompts (one per stream) so that no server answers one stream from another's
cache; `max_tokens` tokens each, exactly: the end-of-generation tokens are banned through
`logit_bias`, which every server under test honours.
"""

from __future__ import annotations

from typing import Any

PROMPTS = (
    "Write a long story about a dragon who learns to cook.",
    "Write a long story about a lighthouse keeper and a storm.",
    "Write a long story about a robot that wants to paint.",
    "Write a long story about two friends crossing a desert.",
    "Write a long story about a city under the sea.",
    "Write a long story about a clockmaker who stops time.",
    "Write a long story about a cat who runs a bakery.",
    "Write a long story about a train that never arrives.",
    "Write a long story about a library on the moon.",
    "Write a long story about a gardener and a giant seed.",
    "Write a long story about a pirate who is afraid of water.",
    "Write a long story about a snowman in summer.",
    "Write a long story about an inventor and a flying bicycle.",
    "Write a long story about a fox who becomes a detective.",
    "Write a long story about a violin that plays by itself.",
    "Write a long story about a mountain village and a comet.",
)


def stream_body(spec: dict[str, Any], n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec["model"],
        "messages": [{"role": "user", "content": PROMPTS[n % len(PROMPTS)]}],
        "max_tokens": spec["max_tokens"],
        "temperature": 0.8,
        "seed": n,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if spec.get("ban_tokens"):
        # Every server generates exactly max_tokens: end-of-generation tokens are banned.
        body["logit_bias"] = {str(t): -100 for t in spec["ban_tokens"]}
    return body


def embedding_inputs(n: int) -> list[str]:
    """`n` short, distinct inputs (~15 tokens each) for the embeddings rows."""
    topics = ("the harbour", "a tax form", "mountain weather", "an old clock", "soup recipes")
    return [
        f"Note {i}: a short remark about {topics[i % len(topics)]}, number {i}." for i in range(n)
    ]
