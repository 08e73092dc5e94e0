#!/usr/bin/env python3
"""Writes tests/data/tokenizer_corpus.json, the inputs on which ggufd's
tokenizer is compared with llama.cpp's (tests/e2e/test_tokenizer_reference.py).

Every entry is {"name": ..., "b64": base64 of the exact input bytes}: JSON
strings cannot carry the invalid UTF-8 that some entries hold on purpose.
The output is deterministic; regenerate with

    python3 tests/data/make_tokenizer_corpus.py
"""

import base64
import json
import pathlib
import random

OUT = pathlib.Path(__file__).with_name("tokenizer_corpus.json")

entries = []  # (name, bytes)


def add(name, text):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    entries.append((name, data))


def add_all(prefix, texts):
    for i, t in enumerate(texts):
        add(f"{prefix}/{i:02d}", t)


# --- plain text and edge cases ------------------------------------------------
add_all("plain", [
    "",
    "a",
    "A",
    "Hello world",
    "Hello world!",
    " Hello world",
    "Hello World! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_SNAKE",
    "Mr. O'Neil's naïve café résumé coöperate",
    "Once upon a time, there was a little girl named Lily. She loved to play outside.",
    "ﬁnancial ﬂow ligatures and ＦＵＬＬＷＩＤＴＨ letters",
    "x" * 3 + "y" * 3 + "z" * 3,
    "I",
])

# --- whitespace --------------------------------------------------------------
ws = []
for n in (1, 2, 3, 4, 5, 7, 8, 15, 16, 33):
    ws.append(" " * n)
ws += [
    "\t", "\t\t", "\t\t\t\t", "\n", "\n\n", "\n\n\n\n\n", "\r\n", "\r\n\r\n", "\r",
    " \n", "\n ", " \t \n \t ", "\t \t\n\n  \n", "a  b", "a   b", "a\tb", "a\t\tb",
    "a \n b", "word   ", "word\n", "word \n\n", "   word", "\n\nword", "line1\nline2\n\nline4",
    "x\u00a0y", "x\u3000y", "x\u2003y", "\u000b\u000c", "end with tabs\t\t",
    "indented\n    four\n\teight\n        deep",
]
add_all("whitespace", ws)

# --- digits and numbers -------------------------------------------------------
digits = "31415926535897932384626433832795028841971693993751"
nums = [digits[:n] for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 20, 25, 32, 50)]
nums += [
    "0", "00", "007", "1000000", "1,234,567", "1.234.567,89", "3.14159", "-42", "+1e-10",
    "6.022e23", "0x1F9A3C", "0b101101", "2024-02-29", "12:34:56.789", "+1 (555) 010-9999",
    "v1.2.3-rc.4", "abc123def456", "R2D2 C3PO", "٠١٢٣٤٥٦٧٨٩", "１２３４５", "१२३४५",
    "1st 2nd 3rd 4th 11th 21st 100th", "$1,299.99 €45 ¥1000 £3",
]
add_all("numbers", nums)

# --- punctuation runs ---------------------------------------------------------
add_all("punct", [
    "!!!", "...", "?!?!?!", "---", "___", "***", "===", "(((", ")))", "<<<>>>", "[[]]{}",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~", "Wait... what?!", "—–‐ “quoted” ‘single’ «guillemets»",
    "...!!!???,,,;;;:::", "a.b,c;d:e!f?g", "#!/bin/sh", "/* */ // -- ## ;;", "~~~~~~~~~~",
    "¡¿ · • … ‰ ° ± × ÷",
])

# --- contractions -------------------------------------------------------------
con = []
for suffix in ("s", "t", "re", "ve", "m", "ll", "d"):
    con.append(f"it'{suffix} x'{suffix}")
    con.append(f"IT'{suffix.upper()} X'{suffix.upper()}")
con += [
    "I'm sure you're right, they've said we'll see, he'd know, it's John's, don't",
    "I'M SURE YOU'RE RIGHT, THEY'VE SAID WE'LL SEE, HE'D KNOW, IT'S JOHN'S, DON'T",
    "It'S mIxEd'Ve CaSe'lL",
    "'s 't 're 've 'm 'll 'd",
    "don''t rock'n'roll 'tis o'clock",
    "don’t it’s we’ll (curly apostrophes)",
    "'''triple''' ''double''",
]
add_all("contraction", con)

# --- scripts ------------------------------------------------------------------
add_all("script", [
    "你好，世界！今天天气很好。",
    "我们在2024年学习了机器学习和自然语言处理。",
    "日本語のテキスト：ひらがな、カタカナ、漢字を混ぜて書きます。",
    "トークナイザーのテストです。ｶﾀｶﾅ半角",
    "안녕하세요, 세계! 한국어 토큰화 테스트입니다.",
    "สวัสดีครับ นี่คือการทดสอบภาษาไทย",
    "नमस्ते दुनिया, यह हिंदी का परीक्षण है।",
    "আমি বাংলায় গান গাই",
    "مرحبا بالعالم، هذا اختبار للغة العربية.",
    "שלום עולם, זו בדיקה בעברית.",
    "Mixed RTL: abc مرحبا 123 שלום def",
    "Привет, мир! Это тест токенизатора.",
    "Γειά σου Κόσμε! αβγδε ΑΒΓΔΕ",
    "Tiếng Việt có dấu: Trường Đại học Bách khoa",
    "İstanbul'da ığdır şçöü ĞÜŞİÖÇ",
    "Ελληνικά, Русский, 中文, 日本語, 한국어, ไทย, हिन्दी in one line",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𝒮𝒸𝓇𝒾𝓅𝓉 𐍈 𠀀𠀁 (astral plane)",
    "ᚠᚢᚦᚨᚱᚲ ᚷᚹ runes and ꙮ",
    "ሰላም ዓለም (Ge'ez) ᐊᐃᐅ (syllabics)",
    "中文English混合Text和数字123",
])

# --- emoji ----------------------------------------------------------------------
add_all("emoji", [
    "🙂", "😀😃😄😁", "I ❤️ NY", "🤗 hugging face",
    "👨‍👩‍👧‍👦", "👩🏽‍💻 and 🧑🏿‍🚀", "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "🇺🇸🇯🇵🇩🇪🇫🇷", "🏳️‍🌈 🏴‍☠️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 (tag sequence)",
    "1️⃣ #️⃣ *️⃣", "☺ ☺️ ✔ ✔️", "emoji🙂glued🙂to🙂words", "🦀🐍🐹☕",
    "👨‍👨‍👧‍👧👩‍❤️‍💋‍👨",
])

# --- combining marks --------------------------------------------------------------
add_all("combining", [
    "e\u0301 vs \u00e9",
    "n\u0303o\u0308",
    "Z\u0351\u036b\u0343a\u0352\u0310l\u0344\u0357g\u0314\u0346o\u0358\u030c",
    "\u1100\u1161\u11a8 (decomposed hangul) vs 각",
    "क्षत्रिय (virama)",
    "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309",
    "\u0301 leading combining mark",
    "עִבְרִית נִקּוּד",
])

# --- urls, paths, structured text -------------------------------------------
add_all("url", [
    "https://example.com/path/to/page?query=1&lang=en#section-2",
    "http://user:pass@127.0.0.1:8080/a%20b",
    "Visit www.example.org or mail me at first.last+tag@example.co.uk",
    "file:///usr/local/lib/python3.11/site-packages/",
    "C:\\Users\\Admin\\Documents\\report_v2.docx",
    "git@github.com:owner/repo.git",
    "ftp://ftp.example.com/pub/file.tar.gz?x=y",
    "https://ja.wikipedia.org/wiki/東京都",
])
add_all("json", [
    '{"name": "ggufd", "version": 1, "tags": ["llm", "gguf"], "ok": true, "ratio": 0.75}',
    '[{"id":1,"text":"a"},{"id":2,"text":"b"}]',
    '{\n  "nested": {\n    "array": [1, 2, 3],\n    "null": null\n  }\n}',
    '{"escaped": "line\\nbreak \\"quote\\" \\u00e9 \\t tab"}',
    '{"emoji": "🙂", "cjk": "漢字", "empty": {}, "list": []}',
])
add_all("markdown", [
    "# Title\n\n## Subtitle\n\nSome **bold** and *italic* and `code`.\n",
    "- item one\n- item two\n  - nested item\n1. first\n2. second\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "```python\nprint('hi')\n```\n",
    "> quoted text\n> more\n\n[link](https://example.com) ![img](a.png)",
    "***\n___\n---\n<br/>\n<!-- comment -->",
])

# --- code -----------------------------------------------------------------------
add_all("code", [
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "import numpy as np\n\nx = np.arange(10, dtype=np.float32)\nprint(f\"{x.mean():.3f}\")\n",
    "#include <iostream>\n\nint main() {\n  std::cout << \"Hello\" << std::endl;\n  return 0;\n}\n",
    "template <typename T>\nstd::vector<T> Filter(const std::vector<T>& v) {\n\tstd::vector<T> out;\n\tfor (auto& x : v) if (x > T{}) out.push_back(x);\n\treturn out;\n}",
    "const add = (a, b) => a + b;\nconsole.log(`sum: ${add(2, 3)}`);\n",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n",
    "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hi\");\n    }\n}\n",
    "SELECT u.id, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 GROUP BY u.id;",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n  wc -l \"$f\"\ndone\n",
    "<!DOCTYPE html>\n<html><body><div class=\"x\">Hi &amp; bye</div></body></html>",
    ".container > .item:nth-child(2n+1) { color: #ff00aa; margin: 0 auto; }",
    "main :: IO ()\nmain = mapM_ print [x * y | x <- [1..3], y <- [1..3]]\n",
    "\\begin{equation}\n  E = mc^2 \\quad \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}",
    "    x = 1\n\ty = 2\n  \t z = 3\n",
    "if (a&&b||!c) { i++; j--; k<<=2; m>>>=1; }",
])

# --- chat templates and special-token literals -------------------------------
add_all("special", [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "Some text<|endoftext|>More text",
    "<|im_start|><|im_end|><|endoftext|>",
    " <|im_start|> spaced <|im_end|> ",
    "<|im_start|>assistant\nSure! Here it is.<|im_end|><|endoftext|>",
    "<|im_start",
    "<|im_end|",
    "<|im_start|im_end|>",
    "<|IM_START|>user",
    "<s>[INST] Hello [/INST]</s>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>",
    "<|im_start|>user\n日本語で答えて<|im_end|>\n",
    "text<|im_end|>\n\n<|im_start|>user",
    "<|<|im_start|>|>",
])

# --- long inputs ----------------------------------------------------------------
rng = random.Random(20240229)
letters = "abcdefghijklmnopqrstuvwxyz"
add_all("long", [
    "a" * 5000,
    "supercalifragilisticexpialidocious" * 150,
    "1234567890" * 300,
    "漢" * 2000,
    "🙂" * 1000,
    " " * 3000 + "x",
    "".join(rng.choice(letters) for _ in range(4000)),
    "".join(rng.choice(letters + "ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3000)),
    "-" * 2000,
    "\n" * 1000,
    "ab" * 2500,
    ("The quick brown fox jumps over the lazy dog. " * 60).strip(),
])

# --- control characters, invisible and odd code points -----------------------
add_all("control", [
    "nul\x00byte",
    "\x00",
    "bell\x07 esc\x1b[31mred\x1b[0m del\x7f",
    "\ufeffBOM at start",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "soft\u00adhyphen",
    "\u200fRTL mark \u200eLTR mark \u202eoverride\u202c",
    "private use \ue000\uf8ff and noncharacter \ufffe\uffff",
    "replacement char \ufffd already valid",
    "line\u2028separator\u2029paragraph",
    "\U0010ffff max code point",
])

# --- invalid UTF-8 (fed to the reference as the WHATWG-decoded string) -------
add_all("invalid_utf8", [
    b"lone continuation \x80 byte",
    b"truncated two-byte at end \xc3",
    b"overlong slash \xc0\xaf and \xe0\x80\xaf",
    b"encoded surrogate \xed\xa0\x80 here",
    b"bytes \xfe\xff never valid",
    b"truncated emoji \xf0\x9f\x98 then text",
    b"above max \xf4\x90\x80\x80 code point",
    b"\xff\xfe\xfd",
    b"caf\xe9 latin-1 accent",
    b"mixed \xe6\x97\xa5\xe6\x9c valid then cut \xe6\x9c\xac ok",
    b"\x80\x80\x80\x80 run of continuations",
    b"<|im_start|>user\n\xc3(\xa0\xa1<|im_end|>",
])

names = [n for n, _ in entries]
assert len(names) == len(set(names)), "duplicate names"
assert len(entries) >= 220, len(entries)

doc = {
    "about": ("Tokenizer comparison inputs for tests/e2e/test_tokenizer_reference.py. "
              "Each entry's b64 holds the exact input bytes; some are invalid UTF-8 on purpose. "
              "Generated by tests/data/make_tokenizer_corpus.py; do not edit by hand."),
    "entries": [{"name": n, "b64": base64.b64encode(d).decode("ascii")} for n, d in entries],
}
OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
print(f"wrote {len(entries)} entries to {OUT}")
