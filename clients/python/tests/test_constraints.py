"""Constrained generation (GenerateRequest.constraint) through ggufd.Client
and ggufd.AsyncClient against the real ggufd, and the same constraint
through ggufctl's --regex, --json-schema and --grammar-file."""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
import subprocess

import grpc
import pytest
from ggufd_server import GGUFCTL_BIN, GgufdServer

import ggufd

PHONE = "[0-9]{3}-[0-9]{4}"
PHONE_PROMPT = "My phone number is "
# A JSON Schema whose every value is a choice, so that a small model fills
# it in a few tokens.
SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"enum": ["yes", "no"]},
        "sure": {"type": "boolean"},
    },
    "required": ["answer", "sure"],
    "additionalProperties": False,
}
SCHEMA_PROMPT = "Is the sky blue? Reply in JSON: "
GRAMMAR = 'root ::= ("yes" | "no") "."\n'

COMPLETE = ggufd.FinishReason.FINISH_REASON_CONSTRAINT_COMPLETE


def ggufctl(server: GgufdServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GGUFCTL_BIN), "-s", server.address, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def fresh(client: ggufd.Client) -> ggufd.Client:
    """The client after a Reset: runs compared token for token each start
    from an empty KV cache, so neither reuses the other's prefix."""
    client.reset()
    return client


def check_schema_output(text: str) -> None:
    value = json.loads(text)
    assert set(value) == {"answer", "sure"}, text
    assert value["answer"] in ("yes", "no"), text
    assert isinstance(value["sure"], bool), text


def test_more_than_one_constraint_is_refused_before_sending(
    client: ggufd.Client, server: GgufdServer
) -> None:
    with pytest.raises(ValueError, match="grammar and regex"):
        client.generate(PHONE_PROMPT, grammar=GRAMMAR, regex=PHONE)
    with pytest.raises(ValueError, match="json_schema and regex"):
        client.complete(PHONE_PROMPT, json_schema=SCHEMA, regex=PHONE)
    with pytest.raises(ValueError, match="grammar and json_schema and regex"):
        client.chat([{"role": "user", "content": "Hi"}], grammar=GRAMMAR, json_schema="{}", regex=PHONE)
    with pytest.raises(TypeError, match="regex must be a str"):
        client.generate(PHONE_PROMPT, regex=123)  # type: ignore[arg-type]

    async def refused(aclient: ggufd.AsyncClient) -> None:
        with pytest.raises(ValueError, match="grammar and json_schema"):
            aclient.generate(PHONE_PROMPT, grammar=GRAMMAR, json_schema=SCHEMA)

    async def main() -> None:
        async with ggufd.AsyncClient(server.address, timeout=60) as aclient:
            await refused(aclient)

    asyncio.run(main())
    # ggufctl refuses two kinds as a usage error, before connecting.
    both = ggufctl(server, "generate", "--regex", PHONE, "--json-schema", "{}", "Hi")
    assert both.returncode == 2, both
    assert "excludes" in both.stderr, both.stderr


def test_regex_output_matches_and_completes(loaded: ggufd.Client, server: GgufdServer) -> None:
    # Greedy, then sampled with a few seeds: every output is a whole match
    # and the stream ends because nothing more can follow.
    greedy_run: ggufd.GenerateOptions = {"regex": PHONE, "temperature": 0, "max_tokens": 48}
    runs = [greedy_run] + [
        ggufd.GenerateOptions(regex=PHONE, temperature=1.0, seed=seed, max_tokens=48) for seed in (1, 2, 3)
    ]
    greedy = ""
    for options in runs:
        with fresh(loaded).generate(PHONE_PROMPT, **options) as generation:
            text = generation.text()
        assert re.fullmatch(PHONE, text), (options, text)
        assert generation.finished is not None
        assert generation.finished.reason == COMPLETE, ggufd.FinishReason.Name(generation.finished.reason)
        assert 0 < generation.finished.usage.completion_tokens <= 8
        greedy = greedy or text

    fresh(loaded)
    out = ggufctl(server, "generate", "--regex", PHONE, "-t", "0", "-n", "48", "--stats", PHONE_PROMPT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == greedy + "\n"
    assert "FINISH_REASON_CONSTRAINT_COMPLETE" in out.stderr


def test_json_schema_as_dict_or_text(loaded: ggufd.Client, server: GgufdServer, tmp_path: pathlib.Path) -> None:
    generation = fresh(loaded).generate(SCHEMA_PROMPT, json_schema=SCHEMA, temperature=0, max_tokens=48)
    text = generation.text()
    check_schema_output(text)
    assert generation.finished is not None
    # After the closing brace the grammar may still allow whitespace, which
    # the model can end with EOS instead of the constraint completing.
    assert generation.finished.reason in (COMPLETE, ggufd.FinishReason.FINISH_REASON_EOS)

    # The same schema as JSON text is the same request.
    assert fresh(loaded).complete(SCHEMA_PROMPT, json_schema=json.dumps(SCHEMA, indent=2), temperature=0, max_tokens=48) == text
    for seed in (1, 2, 3):
        check_schema_output(loaded.complete(SCHEMA_PROMPT, json_schema=SCHEMA, temperature=1.0, seed=seed, max_tokens=48))

    fresh(loaded)
    out = ggufctl(server, "generate", "--json-schema", json.dumps(SCHEMA), "-t", "0", "-n", "48", SCHEMA_PROMPT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == text + "\n"
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA))
    fresh(loaded)
    out = ggufctl(server, "generate", "--json-schema-file", str(schema_file), "-t", "0", "-n", "48", SCHEMA_PROMPT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == text + "\n"


def test_gbnf_grammar_in_chat(loaded: ggufd.Client, server: GgufdServer, tmp_path: pathlib.Path) -> None:
    question = [{"role": "user", "content": "Is water wet? Answer yes or no."}]
    generation = fresh(loaded).generate(messages=question, grammar=GRAMMAR, temperature=0, max_tokens=48)
    text = generation.text()
    assert text in ("yes.", "no."), text
    assert generation.finished is not None and generation.finished.reason == COMPLETE

    grammar_file = tmp_path / "yes_no.gbnf"
    grammar_file.write_text(GRAMMAR)
    fresh(loaded)
    out = ggufctl(
        server, "chat", "--grammar-file", str(grammar_file), "-t", "0", "-n", "48",
        "Is water wet? Answer yes or no.",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == text + "\n"


@pytest.mark.parametrize(
    "constraint",
    [
        {"grammar": "root ::= undefined-rule"},
        {"grammar": 'root ::= "unterminated'},
        {"regex": "[0-9"},
        {"json_schema": "{not json"},
    ],
    ids=["undefined-rule", "unterminated-string", "regex", "json"],
)
def test_invalid_constraint_is_invalid_argument(
    loaded: ggufd.Client, constraint: ggufd.GenerateOptions
) -> None:
    options: ggufd.GenerateOptions = {"max_tokens": 8, **constraint}
    with pytest.raises(ggufd.InvalidArgumentError) as bad:
        loaded.complete(PHONE_PROMPT, **options)
    assert bad.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert bad.value.error_code == 1
    assert loaded.complete("Hello", max_tokens=2)  # the runtime carries on


def test_ggufctl_reports_an_invalid_grammar(loaded: ggufd.Client, server: GgufdServer, tmp_path: pathlib.Path) -> None:
    grammar_file = tmp_path / "bad.gbnf"
    grammar_file.write_text("root ::= undefined-rule\n")
    out = ggufctl(server, "generate", "--grammar-file", str(grammar_file), "-n", "8", "Hi")
    assert out.returncode == 1, out
    assert "ggufctl: INVALID_ARGUMENT" in out.stderr
    missing = ggufctl(server, "generate", "--grammar-file", str(tmp_path / "missing.gbnf"), "Hi")
    assert missing.returncode == 2, missing


def test_async_constrained_generation(loaded: ggufd.Client, server: GgufdServer) -> None:
    async def main() -> None:
        async with ggufd.AsyncClient(server.address, timeout=60) as aclient:
            generation = aclient.generate(PHONE_PROMPT, regex=PHONE, temperature=0, max_tokens=48)
            text = await generation.text()
            assert re.fullmatch(PHONE, text), text
            assert generation.finished is not None and generation.finished.reason == COMPLETE
            with pytest.raises(ggufd.InvalidArgumentError):
                await aclient.complete(PHONE_PROMPT, grammar="root ::= undefined-rule", max_tokens=8)

    asyncio.run(main())
