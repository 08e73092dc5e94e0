"""q4_0 against llama.cpp: SmolLM2-135M requantized to Q4_0 by `ggufd quantize`
(every matrix q4_0 with a row count that is a multiple of 8, the tied
embedding q8_0).

llama.cpp repacks such q4_0 weights on x86 (its q4_0_8x8 layout) and sums
each output as one running sum of per-block integer dot products, not in
vec_dot's 8 lanes. ggufd follows that order (DotQ4_0Q8_0Whole), so the
distributions agree to float32 softmax rounding and greedy decoding agrees
token for token; in vec_dot's order the last bits differ in every layer and
the 8-bit requantization of the activations lets them grow. The bar is the
one the SmolLM2 and Gemma 3 tests set."""
import pathlib
import subprocess

import pytest

from greedy_compare import check_last_position, count_full_matches, greedy_runs

N_TOKENS = 32
MIN_FULL_MATCHES = 10
MAX_LOGPROB_DIFF = 1e-3


@pytest.fixture(scope="module")
def q4_0_model(ggufd_bin, default_model):
    path = default_model.parent / ".cache" / "SmolLM2-135M-Instruct.Q4_0.gguf"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        subprocess.run([str(ggufd_bin), "quantize", str(default_model), str(tmp), "Q4_0"],
                       check=True, capture_output=True, timeout=600)
        tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def runs(ggufd_bin, q4_0_model, reference, repo_root):
    return greedy_runs(ggufd_bin, q4_0_model, reference, repo_root, N_TOKENS, threads=2)


def test_last_position_distribution_agrees(runs):
    check_last_position(*runs, MAX_LOGPROB_DIFF)


def test_greedy_tokens_match(runs):
    assert count_full_matches(*runs, N_TOKENS) >= MIN_FULL_MATCHES
