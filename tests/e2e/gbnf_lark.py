"""An independent recognizer for GBNF (llama.cpp's grammar format): parses
the grammar text with its own small parser, translates it to lark's notation
and asks lark's Earley parser whether a string is a sentence. Nothing here
shares code with ggufd's grammar runtime, so tests can use it as an oracle.

Covers the GBNF of the README in ../shared/testdata/llama.cpp-grammars:
rules, "literals", [classes] (with ^, ranges and \\x \\u \\U \\t \\n \\r
escapes), `.`, groups, alternation (empty alternatives included), * + ?
{m} {m,} {m,n} and # comments. Token references (<...>) are not text and are
refused.

    rec = GbnfRecognizer(grammar_text)
    rec.accepts('{"a": 1}')  # -> bool
"""

import re
import string

import lark

_MAX_CODEPOINT = 0x10FFFF


class GbnfSyntaxError(ValueError):
    pass


class _Parser:
    """GBNF text -> {rule name: expression}. Expressions are tuples:
    ("lit", str) ("class", [(lo, hi)], negated) ("any",) ("ref", name)
    ("seq", [e]) ("alt", [e]) ("rep", e, min, max_or_None)."""

    def __init__(self, text):
        self.s = text
        self.i = 0

    def error(self, what):
        line = self.s.count("\n", 0, self.i) + 1
        raise GbnfSyntaxError(f"{what} at line {line}: {self.s[self.i:self.i + 30]!r}")

    def skip(self, newlines):
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            elif c in " \t" or (newlines and c in "\r\n"):
                self.i += 1
            else:
                break

    def name(self):
        m = re.compile(r"[a-zA-Z0-9-]+").match(self.s, self.i)
        if not m:
            self.error("expected a rule name")
        self.i = m.end()
        return m.group(0)

    def char(self, in_class):
        s = self.s
        if self.i >= len(s):
            self.error("unexpected end")
        c = s[self.i]
        if c != "\\":
            self.i += 1
            return ord(c)
        e = s[self.i + 1:self.i + 2]
        hex_len = {"x": 2, "u": 4, "U": 8}.get(e)
        if hex_len:
            digits = s[self.i + 2:self.i + 2 + hex_len]
            if len(digits) != hex_len or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                self.error("bad hex escape")
            self.i += 2 + hex_len
            return int(digits, 16)
        simple = {"t": "\t", "r": "\r", "n": "\n", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-"}
        if e in simple:
            self.i += 2
            return ord(simple[e])
        self.error("unknown escape")

    def grammar(self):
        rules = {}
        self.skip(True)
        while self.i < len(self.s):
            name = self.name()
            self.skip(False)
            if not self.s.startswith("::=", self.i):
                self.error("expected ::=")
            self.i += 3
            self.skip(True)
            if name in rules:
                self.error(f"rule {name} defined twice")
            rules[name] = self.alternatives(nested=False)
            self.skip(True)
        if "root" not in rules:
            raise GbnfSyntaxError("no root rule")
        for body in rules.values():
            for ref in _refs(body):
                if ref not in rules:
                    raise GbnfSyntaxError(f"undefined rule {ref}")
        return rules

    def alternatives(self, nested):
        alts = [self.sequence(nested)]
        while self.i < len(self.s) and self.s[self.i] == "|":
            self.i += 1
            self.skip(True)
            alts.append(self.sequence(nested))
        return alts[0] if len(alts) == 1 else ("alt", alts)

    def sequence(self, nested):
        items = []
        while True:
            self.skip(nested)
            if self.i >= len(self.s):
                break
            c = self.s[self.i]
            if c in "|)\n\r":
                break
            if c == '"':
                self.i += 1
                text = []
                while self.i < len(self.s) and self.s[self.i] != '"':
                    text.append(chr(self.char(False)))
                if self.i >= len(self.s):
                    self.error("unterminated literal")
                self.i += 1
                item = ("lit", "".join(text))
            elif c == "[":
                self.i += 1
                negated = self.s.startswith("^", self.i)
                if negated:
                    self.i += 1
                ranges = []
                while self.i < len(self.s) and self.s[self.i] != "]":
                    lo = self.char(True)
                    hi = lo
                    if self.s.startswith("-", self.i) and not self.s.startswith("-]", self.i):
                        self.i += 1
                        hi = self.char(True)
                    ranges.append((lo, hi))
                if self.i >= len(self.s):
                    self.error("unterminated class")
                self.i += 1
                item = ("class", ranges, negated)
            elif c == "(":
                self.i += 1
                self.skip(True)
                item = self.alternatives(nested=True)
                self.skip(True)
                if not self.s.startswith(")", self.i):
                    self.error("expected )")
                self.i += 1
            elif c == ".":
                self.i += 1
                item = ("any",)
            elif c == "<":
                self.error("token references are not supported here")
            elif re.match(r"[a-zA-Z0-9-]", c):
                item = ("ref", self.name())
            else:
                self.error("unexpected character")
            item = self.postfix(item)
            items.append(item)
        return items[0] if len(items) == 1 else ("seq", items)

    def postfix(self, item):
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in "*+?":
                self.i += 1
                item = ("rep", item, {"*": 0, "+": 1, "?": 0}[c], {"*": None, "+": None, "?": 1}[c])
            elif c == "{":
                m = re.compile(r"\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}").match(self.s, self.i)
                if not m:
                    self.error("bad repetition")
                self.i = m.end()
                lo = int(m.group(1))
                hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
                item = ("rep", item, lo, hi)
            else:
                break
        return item


def _refs(e):
    kind = e[0]
    if kind == "ref":
        yield e[1]
    elif kind in ("seq", "alt"):
        for x in e[1]:
            yield from _refs(x)
    elif kind == "rep":
        yield from _refs(e[1])


def _regex_char(cp):
    """One code point inside a lark /regex/ literal. Lark evaluates \\U
    escapes before the regex engine sees the pattern, so ASCII punctuation
    gets a regex escape instead (a decoded "\\" or "]" would change the
    pattern)."""
    c = chr(cp)
    if c.isascii() and c.isalnum():
        return c
    if c.isascii() and (c in string.punctuation or c == " "):
        return "\\" + c
    return "\\U%08x" % cp


class _Translator:
    def __init__(self, rules):
        self.names = {name: f"r{i}" for i, name in enumerate(sorted(rules))}
        self.names["root"] = "start"
        self.helpers = []
        self.rules = rules

    def helper(self, body):
        name = f"h{len(self.helpers)}"
        self.helpers.append(f"{name}: {body}")
        return name

    def expr(self, e):
        kind = e[0]
        if kind == "lit":
            if not e[1]:
                return "eps"
            return "/" + "".join(_regex_char(ord(c)) for c in e[1]) + "/"
        if kind == "class":
            ranges, negated = e[1], e[2]
            parts = "".join(_regex_char(lo) + ("-" + _regex_char(hi) if hi != lo else "") for lo, hi in ranges)
            if not ranges:
                # [] matches nothing, [^] anything.
                return "/[\\U00000000-\\U0010ffff]/" if negated else "/(?!)/"
            return "/[" + ("^" if negated else "") + parts + "]/"
        if kind == "any":
            return "/[\\U00000000-\\U0010ffff]/"
        if kind == "ref":
            return self.names[e[1]]
        if kind == "seq":
            return "(" + " ".join(self.expr(x) for x in e[1]) + ")"
        if kind == "alt":
            return "(" + " | ".join(self.expr(x) for x in e[1]) + ")"
        if kind == "rep":
            item, lo, hi = self.expr(e[1]), e[2], e[3]
            if (lo, hi) == (0, None):
                return f"({item})*"
            if (lo, hi) == (1, None):
                return f"({item})+"
            if (lo, hi) == (0, 1):
                return f"[{item}]"
            # A named item so the copies below stay small.
            name = self.helper(item)
            parts = [name] * lo
            if hi is None:
                parts.append(f"{name}*")
            else:
                # up to (hi - lo) more: nested optionals, one helper each.
                tail = ""
                for _ in range(hi - lo):
                    tail = self.helper(f"[{name} {tail}]") if tail else self.helper(f"[{name}]")
                if tail:
                    parts.append(tail)
            return "(" + " ".join(parts) + ")" if parts else "eps"
        raise AssertionError(kind)

    def lark_text(self):
        lines = [f"{self.names[name]}: {self.expr(body)}" for name, body in self.rules.items()]
        # eps: the empty string (lark has no empty group).
        return "\n".join(lines + self.helpers + ["eps: "]) + "\n"


class GbnfRecognizer:
    def __init__(self, grammar_text):
        rules = _Parser(grammar_text).grammar()
        self.lark_grammar = _Translator(rules).lark_text()
        self._parser = lark.Lark(self.lark_grammar, start="start", parser="earley",
                                 lexer="dynamic", maybe_placeholders=False)

    def accepts(self, text):
        try:
            self._parser.parse(text)
            return True
        except lark.exceptions.LarkError:
            return False
