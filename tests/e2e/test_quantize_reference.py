"""`ggufd quantize` output loaded by llama.cpp (node-llama-cpp, through
tests/reference/reference.mjs).

* synth-llama-256 F32 -> Q6_K / Q4_K (--pure): llama.cpp's quantizer made the
  synth-llama-256-<TYPE>.gguf files the same way, and our files must make
  llama.cpp compute exactly what it computes on its own files: the same
  greedy ids and the same top log-probabilities at the last prompt position.
* F32 -> Q4_K_M (the default mix): llama.cpp loads it and generates.
* The command's refusals: unknown types, OUT == IN.
"""

import json
import subprocess

import pytest

N_GEN = 16
CTX = 512


def synth(testdata_dir, name):
    return testdata_dir / "models" / "synth" / name


def quantize(ggufd_bin, src, dst, qtype, *extra):
    proc = subprocess.run(
        [str(ggufd_bin), "quantize", str(src), str(dst), qtype, *extra],
        capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc


def golden_prompts(testdata_dir):
    golden = json.loads(synth(testdata_dir, "synth-llama-256-F32.golden.json").read_text())
    return [p["prompt_ids"] for p in golden["prompts"]]


def greedy(reference, model, prompts):
    return reference("greedy", "--model", model, "--n", N_GEN, "--ctx", CTX,
                     "--threads", 1, "--top", 10, "--prompt-ids", stdin=prompts)


@pytest.mark.parametrize("qtype,theirs", [
    ("Q6_K", "synth-llama-256-Q6_K.gguf"),
    ("Q4_K_M", "synth-llama-256-Q4_K.gguf"),
])
def test_pure_quantization_matches_llamacpp_file(ggufd_bin, reference, testdata_dir, tmp_path,
                                                 qtype, theirs):
    ours = tmp_path / f"synth-{qtype}.gguf"
    quantize(ggufd_bin, synth(testdata_dir, "synth-llama-256-F32.gguf"), ours, qtype, "--pure")
    prompts = golden_prompts(testdata_dir)
    got = greedy(reference, ours, prompts)
    want = greedy(reference, synth(testdata_dir, theirs), prompts)
    assert len(got) == len(prompts)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g["prompt_ids"] == w["prompt_ids"], i
        assert g["ids"] == w["ids"], f"prompt {i}: greedy ids differ"
        assert g["top"] == w["top"], f"prompt {i}: top log-probabilities differ"


def test_q4_k_m_mix_loads_and_generates(ggufd_bin, reference, testdata_dir, tmp_path):
    ours = tmp_path / "synth-Q4_K_M.gguf"
    proc = quantize(ggufd_bin, synth(testdata_dir, "synth-llama-256-F32.gguf"), ours, "Q4_K_M")
    summary = proc.stdout.decode()
    assert "blk.1.attn_v.weight" in summary and "q6_K" in summary
    prompts = golden_prompts(testdata_dir)
    got = greedy(reference, ours, prompts)
    assert len(got) == len(prompts)
    for g, p in zip(got, prompts):
        assert g["prompt_ids"] == p
        assert len(g["ids"]) == N_GEN
        assert all(0 <= t < 512 for t in g["ids"])
        # Greedy: the first generated id is the most likely next token.
        assert g["ids"][0] == g["top"][0][0]


def test_refuses_unknown_type_and_overwriting_input(ggufd_bin, testdata_dir, tmp_path):
    src = testdata_dir / "models" / "stories260K.gguf"
    bad = subprocess.run([str(ggufd_bin), "quantize", str(src), str(tmp_path / "o.gguf"), "Q9_X"],
                         capture_output=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert b"unknown type" in bad.stderr
    copy = tmp_path / "in.gguf"
    copy.write_bytes(src.read_bytes())
    same = subprocess.run([str(ggufd_bin), "quantize", str(copy), str(copy), "Q8_0"],
                          capture_output=True, timeout=60, check=False)
    assert same.returncode != 0
    assert copy.read_bytes() == src.read_bytes()
    assert not (tmp_path / "o.gguf").exists()
