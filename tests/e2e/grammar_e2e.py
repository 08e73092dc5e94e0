"""Shared parts of the constrained-generation end-to-end tests: the prompts
that go with llama.cpp's grammars, a real `ggufd serve` to sample from over
gRPC, `ggufd run` for greedy runs, and the independent validators (lark's
Earley parser through gbnf_lark.py) for whole sentences and for prefixes of
sentences (a sample cut by max_tokens)."""

import codecs
import json
import subprocess

import lark

from conftest import TESTDATA_DIR
from gbnf_lark import GbnfRecognizer, _Parser, _Translator
from grpc_server import GrpcServer

GRAMMARS_DIR = TESTDATA_DIR / "llama.cpp-grammars"


def chat(question):
    """SmolLM2's ChatML turn asking `question`."""
    return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


# A prompt that suits each of llama.cpp's grammars.
GRAMMAR_QUESTIONS = {
    "arithmetic": "Write three simple arithmetic equations, one per line.",
    "c": "Write a small C function that adds two integers.",
    "chess": "Write the first moves of a chess game in algebraic notation.",
    "english": "Describe the sea in one sentence.",
    "japanese": "Say good morning in Japanese.",
    "json": "Give me a JSON object describing a cat.",
    "json_arr": "List three colors as a JSON array.",
    "list": "List three fruits as a bulleted list.",
}


def llama_grammars():
    """[(name, GBNF text)] of the grammars in the shared test data."""
    found = sorted(GRAMMARS_DIR.glob("*.gbnf"))
    assert len(found) == len(GRAMMAR_QUESTIONS), found
    return [(p.stem, p.read_text(encoding="utf-8")) for p in found]


# ---- validators -----------------------------------------------------------

_FULL = "--full"
_PRE = "--pre"


def _renamed(e):
    kind = e[0]
    if kind == "ref":
        return ("ref", e[1] + _FULL)
    if kind in ("seq", "alt"):
        return (kind, [_renamed(x) for x in e[1]])
    if kind == "rep":
        return ("rep", _renamed(e[1]), e[2], e[3])
    return e


class _Prefixes:
    """Rewrites rules so that each expression has one matching exactly the
    prefixes of what it matches (the empty one and the whole included).
    Every alternative of a rewritten sequence or alternation is a rule of
    its own: lark refuses a rule whose expanded alternatives repeat, and
    prefixes of neighbouring items overlap."""

    def __init__(self):
        self.rules = {}

    def _rule(self, body):
        name = f"pre-{len(self.rules)}"
        self.rules[name] = body
        return ("ref", name)

    def of(self, e):
        kind = e[0]
        if kind == "lit":
            return ("alt", [("lit", e[1][:i]) for i in range(len(e[1]) + 1)])
        if kind in ("class", "any"):
            return ("rep", e, 0, 1)
        if kind == "ref":
            return ("ref", e[1][: -len(_FULL)] + _PRE)
        if kind == "seq":
            items = e[1]
            return ("alt", [self._rule(("seq", items[:i] + [self.of(items[i])]))
                            for i in range(len(items))])
        if kind == "alt":
            return ("alt", [self._rule(self.of(x)) for x in e[1]])
        if kind == "rep":
            item, lo, hi = e[1], e[2], e[3]
            if hi == 0:
                return ("lit", "")
            head = ("rep", item, 0, None if hi is None else hi - 1)
            return ("seq", [head, self._rule(self.of(item))])
        raise AssertionError(kind)


def _hoisted(rules):
    """The rules with every alternation and repetition inside another
    expression moved to a rule of its own: lark expands those in place, and
    two expansions that come out the same make it refuse the grammar."""
    out = {}

    def hoist(e, top):
        kind = e[0]
        if kind in ("seq", "alt"):
            e = (kind, [hoist(x, False) for x in e[1]])
        elif kind == "rep":
            e = ("rep", hoist(e[1], False), e[2], e[3])
        if not top and kind in ("alt", "rep"):
            name = f"hoisted-{len(out)}"
            out[name] = e
            return ("ref", name)
        return e

    for name, body in rules.items():
        out[name] = hoist(body, True)
    return out


class PrefixRecognizer:
    """Whether a text is a prefix of some sentence of a GBNF grammar: the
    grammar rewritten so that each rule R gets R--pre matching the prefixes
    of R, and lark's Earley parser on that."""

    def __init__(self, grammar_text):
        rules = _Parser(grammar_text).grammar()
        full = {name + _FULL: _renamed(body) for name, body in rules.items()}
        prefixes = _Prefixes()
        pre = {name + _PRE: prefixes.of(_renamed(body)) for name, body in rules.items()}
        merged = {**full, **pre, **prefixes.rules, "root": ("ref", "root" + _PRE)}
        text = _Translator(_hoisted(merged)).lark_text()
        self._parser = lark.Lark(text, start="start", parser="earley", lexer="dynamic",
                                 maybe_placeholders=False)

    def accepts(self, text):
        try:
            self._parser.parse(text)
            return True
        except lark.exceptions.LarkError:
            return False


class Validator:
    """Whole sentences and prefixes of one grammar."""

    def __init__(self, grammar_text):
        self.sentence = GbnfRecognizer(grammar_text)
        self.prefix = PrefixRecognizer(grammar_text)


def decode_output(data, complete):
    """The generated bytes as text: strictly when the output is complete;
    with a character the token budget cut off dropped otherwise."""
    if complete:
        return data.decode("utf-8")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    return decoder.decode(data, final=False)


# ---- ggufd ---------------------------------------------------------------

def ggufd_run(ggufd_bin, model, prompt, grammar_file, max_tokens, *extra):
    """`ggufd run --json` greedy under the grammar: its JSON result."""
    proc = subprocess.run(
        [str(ggufd_bin), "run", "-m", str(model), "-p", prompt, "-n", str(max_tokens),
         "--temp", "0", "--threads", "1", "--json", "--grammar-file", str(grammar_file),
         *map(str, extra)],
        capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return json.loads(proc.stdout)


class Server(GrpcServer):
    """A `ggufd serve` on a free loopback port with the model loaded, and
    an Inference stub (from the Python client's generated code)."""

    def sample(self, prompt, grammar, seed, max_tokens, temperature=None):
        """One seeded generation under `grammar`: {"ids", "bytes",
        "reason"} with the reason's enum name."""
        request = self.pb.GenerateRequest(text=prompt)
        request.constraint.grammar = grammar
        request.sampling.seed = seed
        if temperature is not None:
            request.sampling.temperature = temperature
        request.stopping.max_tokens = max_tokens
        request.output.token_ids = True
        request.output.token_bytes = True
        ids, data, reason = [], b"", None
        for event in self.inference.Generate(request, timeout=600):
            if event.HasField("chunk"):
                for token in event.chunk.tokens:
                    ids.append(token.id)
                    data += token.bytes
            elif event.HasField("finished"):
                reason = self.pb.FinishReason.Name(event.finished.reason)
        return {"ids": ids, "bytes": data, "reason": reason}
