"""Streams a generation from a ggufd server to stdout.

    python -m ggufd.example --server 127.0.0.1:50051 "Once upon a time"
    python -m ggufd.example --load SmolLM2-135M-Instruct.Q4_1.gguf --chat "Who are you?"
    python -m ggufd.example --regex "[0-9]{3}-[0-9]{4}" "My phone number is "
    python -m ggufd.example --embed "A text to embed"

Ctrl-C cancels the generation on the server (closing the stream does).
"""

from __future__ import annotations

import argparse
import sys

import ggufd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ggufd.example", description=__doc__.split("\n")[0])
    parser.add_argument("prompt", help="prompt text (or the user message with --chat)")
    parser.add_argument("--server", default="127.0.0.1:50051", help="ggufd address")
    parser.add_argument("--load", metavar="PATH", help="load this model (inside the server's model dir) first")
    parser.add_argument("--chat", action="store_true", help="send the prompt as a chat message")
    parser.add_argument("-n", "--max-tokens", type=int, default=64)
    parser.add_argument("-t", "--temperature", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--timeout", type=float, help="deadline per call in seconds")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--regex", help="constrain the output to this regular expression")
    kind.add_argument("--json-schema", metavar="JSON", help="constrain the output to this JSON Schema")
    kind.add_argument("--grammar-file", metavar="FILE", help="constrain the output to this GBNF grammar")
    kind.add_argument("--embed", action="store_true", help="print the prompt's embedding instead")
    args = parser.parse_args(argv)

    options: ggufd.GenerateOptions = {"max_tokens": args.max_tokens}
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.seed is not None:
        options["seed"] = args.seed
    if args.regex is not None:
        options["regex"] = args.regex
    if args.json_schema is not None:
        options["json_schema"] = args.json_schema
    if args.grammar_file is not None:
        with open(args.grammar_file, encoding="utf-8") as f:
            options["grammar"] = f.read()

    with ggufd.Client(args.server, timeout=args.timeout) as client:
        try:
            if args.load:
                info = client.load_model(args.load)
                print(f"[loaded {info.name} ({info.architecture}, {info.file_type})]", file=sys.stderr)
            if args.embed:
                result = client.embed([args.prompt])
                head = " ".join(f"{x:.4f}" for x in result.vectors[0][:8])
                print(f"{head} ... ({result.dimensions} dimensions, {result.tokens[0]} tokens,"
                      f" {ggufd.Pooling.Name(result.pooling)}, {result.model})")
                return 0
            if args.chat:
                generation = client.generate(messages=[{"role": "user", "content": args.prompt}], **options)
            else:
                generation = client.generate(args.prompt, **options)
            with generation:
                for event in generation:
                    match event:
                        case ggufd.Chunk(text=text):
                            print(text, end="", flush=True)
                        case ggufd.Finished(reason=reason, usage=usage):
                            print(
                                f"\n[{ggufd.FinishReason.Name(reason)}: {usage.prompt_tokens} prompt"
                                f" + {usage.completion_tokens} generated tokens]",
                                file=sys.stderr,
                            )
        except KeyboardInterrupt:
            print("\n[cancelled]", file=sys.stderr)
            return 130
        except ggufd.GgufdError as e:
            hint = f" (retry in {e.retry_delay:.1f}s)" if e.retry_delay is not None else ""
            print(f"error: {e.grpc_code.name}: {e}{hint}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
