"""Inference.Embed through ggufd.Client and ggufd.AsyncClient against the
real ggufd, and `ggufctl embed` on the same texts."""

from __future__ import annotations

import asyncio
import math
import subprocess

import grpc
import pytest
from ggufd_server import GGUFCTL_BIN, MODEL, GgufdServer

import ggufd

TEXTS = ["The cat sat on the mat.", "Stock markets fell sharply on Monday.", "The cat sat on the mat."]


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


def test_embed_gives_unit_vectors_of_the_model_dimension(loaded: ggufd.Client) -> None:
    info = loaded.model_info()
    result = loaded.embed(TEXTS)
    assert isinstance(result, ggufd.Embeddings)
    assert len(result) == len(result.vectors) == len(TEXTS)
    assert result.dimensions == info.embedding_length > 0
    assert result.model == info.name
    assert result.pooling != ggufd.Pooling.POOLING_UNSPECIFIED  # the one applied
    for v in result.vectors:
        assert len(v) == result.dimensions
        assert norm(v) == pytest.approx(1.0, abs=1e-4)
    # Equal texts, equal vectors; different texts, different ones.
    assert result.vectors[0] == pytest.approx(result.vectors[2], abs=1e-6)
    assert cosine(result.vectors[0], result.vectors[1]) < 0.999
    assert result.tokens[0] == result.tokens[2] > 0 and result.tokens[1] > 0
    assert sum(result.tokens) == result.prompt_tokens
    assert result.truncated == [False, False, False]


def test_pooling_and_normalize_reach_the_server(loaded: ggufd.Client) -> None:
    text = [TEXTS[1]]
    mean = loaded.embed(text, pooling="mean")
    assert mean.pooling == ggufd.Pooling.POOLING_MEAN
    raw = loaded.embed(text, pooling=ggufd.Pooling.POOLING_MEAN, normalize=False)
    assert raw.pooling == ggufd.Pooling.POOLING_MEAN
    length = norm(raw.vectors[0])
    assert abs(length - 1.0) > 1e-3, "normalize=False still gave a unit vector"
    assert [x / length for x in raw.vectors[0]] == pytest.approx(mean.vectors[0], abs=1e-5)
    last = loaded.embed(text, pooling="LAST")
    assert last.pooling == ggufd.Pooling.POOLING_LAST
    assert cosine(last.vectors[0], mean.vectors[0]) < 0.9999


def test_client_side_refusals(client: ggufd.Client) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        client.embed("one text")
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        client.embed(["a"], pooling="max")


def test_long_text_fails_or_is_truncated(loaded: ggufd.Client) -> None:
    # A runtime whose context is 64 tokens, so that a paragraph overflows it.
    loaded.create_runtime("short-embed")
    try:
        loaded.load_model(MODEL, context_length=64, runtime="short-embed")
        long_text = " ".join(["The quick brown fox jumps over the lazy dog."] * 20)
        with pytest.raises(ggufd.InvalidArgumentError) as refused:
            loaded.embed(["short", long_text], runtime="short-embed")
        assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
        named = str(refused.value) + " ".join(v.field for v in refused.value.field_violations)
        assert "texts[1]" in named, named
        cut = loaded.embed(["short", long_text], truncate=True, runtime="short-embed")
        assert cut.truncated == [False, True]
        assert 0 < cut.tokens[1] <= 64
        assert norm(cut.vectors[1]) == pytest.approx(1.0, abs=1e-4)
    finally:
        loaded.delete_runtime("short-embed")


def test_ggufctl_embed_prints_the_same_vectors(loaded: ggufd.Client, server: GgufdServer) -> None:
    result = loaded.embed(TEXTS[:2])
    out = subprocess.run(
        [str(GGUFCTL_BIN), "-s", server.address, "embed", "--stats", *TEXTS[:2]],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    for line, vector in zip(lines, result.vectors):
        assert [float(x) for x in line.split()] == pytest.approx(vector, abs=1e-6)
    assert f"{result.dimensions} dimensions" in out.stderr
    # Pooling and normalization flags.
    raw = loaded.embed(TEXTS[:1], pooling="mean", normalize=False)
    out = subprocess.run(
        [str(GGUFCTL_BIN), "-s", server.address, "embed", "--pooling", "mean", "--no-normalize", TEXTS[0]],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert [float(x) for x in out.stdout.split()] == pytest.approx(raw.vectors[0], rel=1e-6, abs=1e-6)


def test_async_embed(loaded: ggufd.Client, server: GgufdServer) -> None:
    expected = loaded.embed(TEXTS)

    async def main() -> None:
        async with ggufd.AsyncClient(server.address, timeout=60) as aclient:
            result = await aclient.embed(TEXTS)
            assert result.dimensions == expected.dimensions
            for got, want in zip(result.vectors, expected.vectors):
                assert got == pytest.approx(want, abs=1e-6)
            with pytest.raises(TypeError):
                await aclient.embed("one text")

    asyncio.run(main())
