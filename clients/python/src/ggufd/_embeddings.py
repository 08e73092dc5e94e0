"""What embed() returns, shared by the sync and asyncio clients."""

from __future__ import annotations

import dataclasses

from ggufd.v1 import inference_pb2


@dataclasses.dataclass(frozen=True)
class Embeddings:
    """One vector per text of an Embed call, in the order of the texts.

    Attributes:
        vectors: the vectors, each `dimensions` long (unit L2 norm unless
            the call passed normalize=False).
        tokens: per text, the tokens its vector was computed from (after
            any truncation).
        truncated: per text, whether it was cut to fit the context
            (only with truncate=True; otherwise a long text is an error).
        model: the model's general.name (or file name).
        pooling: the ggufd.Pooling actually applied (the model's own when
            the call left it unset).
        dimensions: the length of every vector.
        prompt_tokens: the tokens over all texts.
    """

    vectors: list[list[float]]
    tokens: list[int]
    truncated: list[bool]
    model: str
    pooling: inference_pb2.Pooling
    dimensions: int
    prompt_tokens: int

    def __len__(self) -> int:
        return len(self.vectors)


def embeddings_from(response: inference_pb2.EmbedResponse) -> Embeddings:
    return Embeddings(
        vectors=[list(e.values) for e in response.embeddings],
        tokens=[e.tokens for e in response.embeddings],
        truncated=[e.truncated for e in response.embeddings],
        model=response.model,
        pooling=response.pooling,
        dimensions=response.dimensions,
        prompt_tokens=response.prompt_tokens,
    )
