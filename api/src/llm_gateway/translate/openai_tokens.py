"""Token ids from OpenAI's embedding tokenizer (`cl100k_base`) back to text.

OpenAI's SDKs and LangChain's `OpenAIEmbeddings` tokenize text with tiktoken before calling
/v1/embeddings, so the ids they send are cl100k_base ids, whatever model serves the request.
Decoding them gives back exactly the text they were made from; the backend then embeds that
text with its own tokenizer. (EMBEDDING_TOKEN_IDS=model reads ids in the model's vocabulary.)
"""

from __future__ import annotations

import base64
from functools import cached_property
from pathlib import Path

from ..errors import InvalidRequest

# cl100k_base's special tokens (as tiktoken defines them); every other id is in the file.
SPECIAL = {
    100257: b"<|endoftext|>",
    100258: b"<|fim_prefix|>",
    100259: b"<|fim_middle|>",
    100260: b"<|fim_suffix|>",
    100276: b"<|endofprompt|>",
}


class TokenizerMissing(RuntimeError):
    """The tokenizer file is not where CL100K_PATH says (`make model` fetches it)."""


class Cl100kDecoder:
    """Loaded on first use (1.6 MB, a few tens of milliseconds)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    @cached_property
    def _pieces(self) -> dict[int, bytes]:
        if not self.path.is_file():
            raise TokenizerMissing(f"CL100K_PATH={self.path} does not exist (run `make model`)")
        pieces = dict(SPECIAL)
        for line in self.path.read_bytes().splitlines():
            if line:
                token, rank = line.split()
                pieces[int(rank)] = base64.b64decode(token)
        return pieces

    def decode(self, ids: list[int], param: str) -> str:
        pieces = self._pieces
        try:
            data = b"".join(pieces[i] for i in ids)
        except KeyError as exc:
            raise InvalidRequest(
                f"Token id {exc.args[0]} is not a cl100k_base token.", param=param
            ) from None
        return data.decode("utf-8", "replace")
