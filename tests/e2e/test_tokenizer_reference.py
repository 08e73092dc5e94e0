"""ggufd's tokenizer against llama.cpp's on tests/data/tokenizer_corpus.json.

For the default model, every corpus entry is tokenized by `ggufd tokenize`
(stdin = the entry's raw bytes) and by the reference (llama.cpp through
node-llama-cpp), without and with special-token parsing, BOS per the model's
metadata in both. The id lists must be equal for every entry.

Invalid UTF-8: node-llama-cpp only takes JS strings, so the reference sees
the WHATWG decoding of the bytes (TextDecoder, fatal: false, ignoreBOM: true):
each maximal ill-formed subpart becomes one U+FFFD. ggufd's tokenizer is
specified to make exactly that substitution on raw bytes, so both sides
tokenize the same text. Python's bytes.decode("utf-8", "replace") implements
the same rule; test_python_decoding_matches_whatwg checks that on the corpus,
since the reference is fed the Python decoding.
"""

import base64
import concurrent.futures
import json
import os
import pathlib
import subprocess

import pytest

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "data" / "tokenizer_corpus.json"
MAX_REPORTED_MISMATCHES = 10
GGUFD_TIMEOUT_S = 120


def load_corpus():
    entries = json.loads(CORPUS.read_text(encoding="utf-8"))["entries"]
    return [(e["name"], base64.b64decode(e["b64"])) for e in entries]


def decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def show(text: str, limit: int = 80) -> str:
    """A one-line, escaped, bounded rendering of an input for messages."""
    r = repr(text)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(text)} chars)"


def ggufd_tokenize(ggufd_bin, model, data: bytes, parse_special: bool):
    """Returns (ids, pieces) from `ggufd tokenize`, or (None, error text)."""
    cmd = [str(ggufd_bin), "tokenize", "-m", str(model), "--json"]
    if parse_special:
        cmd.append("--parse-special")
    cmd.append("-")
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=GGUFD_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {GGUFD_TIMEOUT_S} s"
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}: {proc.stderr.decode('utf-8', 'replace')[-500:]}"
    try:
        out = json.loads(proc.stdout)
        return out["ids"], out.get("pieces")
    except (ValueError, KeyError, TypeError) as e:
        return None, f"bad output ({e}): {proc.stdout[:300]!r}"


def describe_mismatch(name, text, want, got, pieces):
    if got is None:
        return f"{name} {show(text)}\n    ggufd failed: {pieces}"
    i = next((k for k, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
    lo = max(0, i - 3)
    lines = [
        f"{name} {show(text)}",
        f"    lengths: reference {len(want)}, ggufd {len(got)}; first difference at index {i}",
        f"    reference[{lo}:{i + 5}] = {want[lo:i + 5]}",
        f"    ggufd    [{lo}:{i + 5}] = {got[lo:i + 5]}",
    ]
    if pieces:
        lines.append(f"    ggufd pieces[{lo}:{i + 5}] = {pieces[lo:i + 5]!r}")
    return "\n".join(lines)


def test_python_decoding_matches_whatwg(reference):
    """The reference is fed Python's decoding; prove it equals TextDecoder's
    on every corpus entry (this runs node directly, not reference.mjs)."""
    corpus = load_corpus()
    script = (
        "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{"
        "const d=new TextDecoder('utf-8',{fatal:false,ignoreBOM:true});"
        "process.stdout.write(JSON.stringify(JSON.parse(s).map("
        "b=>d.decode(Buffer.from(b,'base64')))));});")
    proc = subprocess.run(
        [reference._node, "-e", script],
        input=json.dumps([base64.b64encode(d).decode() for _, d in corpus]).encode(),
        capture_output=True, check=True, timeout=60)
    whatwg = json.loads(proc.stdout)
    bad = [name for (name, data), w in zip(corpus, whatwg) if decode(data) != w]
    assert len(whatwg) == len(corpus) and not bad, f"decodings differ for {bad}"


@pytest.mark.parametrize("parse_special", [False, True], ids=["plain", "parse_special"])
def test_tokenize_matches_reference(parse_special, reference, ggufd_bin, default_model):
    corpus = load_corpus()
    assert len(corpus) >= 220
    texts = [decode(data) for _, data in corpus]
    args = ["--model", default_model] + (["--parse-special"] if parse_special else [])
    expected = reference("tokenize", *args, stdin=texts)
    assert len(expected) == len(corpus)

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(
            lambda item: ggufd_tokenize(ggufd_bin, default_model, item[1], parse_special), corpus))

    mismatches = []
    for (name, _), text, want, (got, pieces) in zip(corpus, texts, expected, results):
        if got != want:
            mismatches.append(describe_mismatch(name, text, want, got, pieces))
    mode = "parse_special" if parse_special else "plain"
    summary = f"tokenize [{mode}]: {len(corpus) - len(mismatches)}/{len(corpus)} entries equal"
    print(summary)
    shown = "\n".join(mismatches[:MAX_REPORTED_MISMATCHES])
    more = len(mismatches) - MAX_REPORTED_MISMATCHES
    if mismatches:
        pytest.fail(f"{summary}; first mismatches:\n{shown}"
                    + (f"\n... and {more} more" if more > 0 else ""), pytrace=False)
