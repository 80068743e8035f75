"""What every server is asked in the model runs: the same prompts, sampling and length.

Distinct prompts (one per stream) so that no server answers one stream from another's
cache; `max_tokens` tokens each, exactly: the end-of-generation tokens are banned through
`logit_bias`, which every server under test honours.
"""

from __future__ import annotations

import random
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


# --- conversations (the `conversations` section) ----------------------------------------------

CONVERSATION_SYSTEM = (
    "You are a careful reading assistant. Answer questions about the text the user gives, "
    "in plain sentences."
)
_WHO = (
    "the harbour master",
    "a young engineer",
    "the village baker",
    "an old sailor",
    "the town clerk",
    "a travelling doctor",
    "the school teacher",
    "a quiet farmer",
    "the mayor's daughter",
    "a lighthouse keeper",
    "the night watchman",
    "a wandering painter",
)
_DID = (
    "repaired",
    "counted",
    "painted",
    "measured",
    "sold",
    "carried",
    "described",
    "found",
    "borrowed",
    "cleaned",
    "weighed",
    "studied",
)
_WHAT = (
    "a broken clock",
    "three wooden boats",
    "the long stone bridge",
    "a box of old letters",
    "the copper bell",
    "a map of the coast",
    "two hundred apples",
    "the red lantern",
    "a cart of salt",
    "the narrow staircase",
    "a jar of honey",
    "the tall chimney",
)
_WHEN = (
    "before the spring storms",
    "on a cold Tuesday",
    "after the market closed",
    "during the long drought",
    "at the first light",
    "late in the harvest",
    "while the river rose",
    "in the week of the festival",
)
_TOPICS = ("the bridge", "the letters", "the weather", "money", "the harbour", "the people")


def conversation_opening(n: int, sentences: int = 22) -> str:
    """Conversation `n`'s first user message: a distinct text (its first sentence differs
    from every other conversation's, so no server finds it in another one's cache) and a
    request. 22 sentences are 480-500 tokens with the default model's tokenizer."""
    pick = random.Random(n)
    lines = [f"Record {n} of the town archive."]
    for i in range(sentences):
        lines.append(
            f"In year {1700 + (n * 7 + i) % 300}, {pick.choice(_WHO)} {pick.choice(_DID)} "
            f"{pick.choice(_WHAT)} {pick.choice(_WHEN)}."
        )
    return " ".join(lines) + "\n\nRead the record above, then summarise it."


def follow_up(n: int, turn: int) -> str:
    """A short question (~15 tokens) for turn `turn` (2, 3, ...) of conversation `n`."""
    topic = _TOPICS[(n + turn) % len(_TOPICS)]
    return f"Question {turn}: what does record {n} say about {topic}? Answer briefly."
