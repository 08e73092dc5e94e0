"""Embeddings against llama.cpp: ggufd's vectors (`ggufd embed`, the same
runtime call the Embed RPC makes) next to node-llama-cpp's embedding
context (reference.mjs embed) on the same model and texts.

Required for every text: the same tokens (count), and cosine similarity
>= MIN_COSINE between the two raw (unnormalized) vectors. Measured here:
1.0 to within 1e-15 on every text and both models (the vectors are
bit-identical): ggufd packs texts into one batch only where no token's
float operations change (runtime_embed.cc).

Then through a real `ggufd serve`: Embed over gRPC returns the CLI's
vectors, and a Generate after an Embed (the runtime's cached prefix, and a
session's second turn) gives the tokens it gives without the Embed.

Gemma 3 beyond its 512-token sliding window is checked on its own: there
the window starts mid-way through llama.cpp's SIMD groups, which the
attention reproduces (attention.cc, kSumAlignment); before it did, those
texts scored cosine ~0.9994."""
import json
import math
import pathlib
import subprocess

import grpc
import pytest

from grpc_server import GrpcServer

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

GEMMA3_MODEL = REPO_ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
MIN_COSINE = 0.9999
THREADS = 2


def long_text(sentences: int) -> str:
    return " ".join(f"Sentence number {i} talks about topic {i * 7 % 13} and the weather in city {i % 5}."
                    for i in range(sentences))


# Short and long, one character, whitespace, unicode (accents, CJK, emoji,
# Greek, Cyrillic), code, text that looks like special tokens (it stays
# text), and one text longer than a 512-token batch (evaluated in chunks).
TEXTS = [
    "Hello world",
    "a",
    " ",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé: naïve café, 日本語のテキスト, emoji 🙂🚀, Ελληνικά, русский текст.",
    "def f(x):\n    return x * 2\n",
    "<|im_start|>user\nliteral special text<|im_end|>",
    "Short.",
    "Another, slightly longer sentence for the batch of texts.",
    long_text(27),   # ~480 tokens
    long_text(40),   # ~720 tokens: two chunks of a 512-token batch
]


def cosine(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb)


def ggufd_embed(ggufd_bin, model, texts, *extra):
    proc = subprocess.run(
        [str(ggufd_bin), "embed", "-m", str(model), "--no-normalize", "--threads", str(THREADS),
         *extra, "-"],
        input=json.dumps(texts).encode(), capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def compare(ggufd_bin, reference, model, texts):
    ours = ggufd_embed(ggufd_bin, model, texts)
    # One reference thread: llama.cpp's spinning workers crawl on a busy
    # machine, and the vectors do not depend on the thread count.
    theirs = reference("embed", "--model", model, stdin=texts)
    assert len(ours["embeddings"]) == len(theirs) == len(texts)
    cosines = []
    for text, o, t in zip(texts, ours["embeddings"], theirs):
        assert o["tokens"] == len(t["ids"]), text[:60]
        assert len(o["values"]) == len(t["vector"]) == ours["dimensions"]
        cosines.append(cosine(o["values"], t["vector"]))
    print(f"{pathlib.Path(model).name}: cosine per text {[f'{c:.12f}' for c in cosines]}")
    return ours, cosines


@pytest.fixture(scope="module")
def gemma3_model():
    if not GEMMA3_MODEL.is_file():
        pytest.skip(f"gemma3 model missing: {GEMMA3_MODEL}")
    return GEMMA3_MODEL


def test_smollm2_matches_llama_cpp(ggufd_bin, default_model, reference):
    ours, cosines = compare(ggufd_bin, reference, default_model, TEXTS)
    # SmolLM2 declares no pooling: llama.cpp hands out the last token's state.
    assert ours["pooling"] == "last"
    for text, c in zip(TEXTS, cosines):
        assert c >= MIN_COSINE, (text[:60], c)


def test_gemma3_matches_llama_cpp(ggufd_bin, gemma3_model, reference):
    texts = TEXTS[:-1]  # within the sliding window: see the module note
    _, cosines = compare(ggufd_bin, reference, gemma3_model, texts)
    for text, c in zip(texts, cosines):
        assert c >= MIN_COSINE, (text[:60], c)


def test_gemma3_beyond_the_sliding_window(ggufd_bin, gemma3_model, reference):
    # ~540, ~720 and ~1080 tokens: the window starts at a different offset
    # into the SIMD groups each time.
    _, cosines = compare(ggufd_bin, reference, gemma3_model,
                         [long_text(30), long_text(40), long_text(60)])
    assert all(c >= MIN_COSINE for c in cosines), cosines


def test_empty_text_is_refused(ggufd_bin, default_model, reference):
    # llama.cpp's embedding context answers "" with an empty vector; ggufd
    # refuses it, naming the text.
    assert reference("embed", "--model", default_model, stdin=[""])[0]["vector"] == []
    proc = subprocess.run([str(ggufd_bin), "embed", "-m", str(default_model), "fine", ""],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert b"texts[1]: the text is empty" in proc.stderr


# --- through a real `ggufd serve` ---------------------------------------

class Server(GrpcServer):
    """A served model and its Embed calls."""

    def embed(self, texts, **fields):
        return self.inference.Embed(self.pb.EmbedRequest(texts=texts, **fields), timeout=300)

    def generate(self, prompt, session=""):
        """(text, Started event) of a greedy 16-token generation."""
        request = self.pb.GenerateRequest(text=prompt, session_id=session)
        request.sampling.temperature = 0
        request.stopping.max_tokens = 16
        request.stopping.ignore_eos = True
        text, started = "", None
        for event in self.inference.Generate(request, timeout=300):
            if event.HasField("started"):
                started = event.started
            elif event.HasField("chunk"):
                text += event.chunk.text
        return text, started


@pytest.fixture(scope="module")
def server(ggufd_bin, default_model):
    pytest.importorskip("ggufd.v1.inference_pb2_grpc",
                        reason="the Python client (clients/python) is not installed")
    s = Server(ggufd_bin, default_model, threads=THREADS)
    yield s
    s.close()


def test_embed_rpc_returns_the_cli_vectors(server, ggufd_bin, default_model):
    texts = TEXTS[:6]
    response = server.embed(texts, normalize=False)
    local = ggufd_embed(ggufd_bin, default_model, texts)
    assert response.pooling == server.pb.POOLING_LAST
    assert response.dimensions == local["dimensions"]
    assert response.prompt_tokens == local["prompt_tokens"]
    for got, want in zip(response.embeddings, local["embeddings"]):
        assert got.tokens == want["tokens"]
        assert list(got.values) == pytest.approx(want["values"], rel=0, abs=0)
    unit = server.embed(texts[:1])
    assert math.sqrt(sum(x * x for x in unit.embeddings[0].values)) == pytest.approx(1, abs=1e-5)


def test_bad_text_is_invalid_argument_naming_it(server):
    with pytest.raises(grpc.RpcError) as error:
        server.embed(["fine", ""])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "texts[1]" in error.value.details()


def test_generate_after_embed_is_unchanged(server):
    prompt = "The capital of France is"
    first, _ = server.generate(prompt)
    a1, _ = server.generate("Tell me a story about a cat.", session="a")
    server.embed(TEXTS)
    second, started = server.generate(prompt)
    # The same tokens, and the cached prompt was still there to reuse.
    assert second == first
    assert started.cached_tokens == started.prompt_tokens - 1
    a2, started = server.generate(" And then?", session="a")
    assert started.session_cache == server.pb.SESSION_CACHE_HIT
    # The same turns without an Embed between them.
    b1, _ = server.generate("Tell me a story about a cat.", session="b")
    b2, _ = server.generate(" And then?", session="b")
    assert (a1, a2) == (b1, b2)
