// Streams a generation to stdout; Ctrl-C cancels it on the server through an
// AbortSignal. Usage: node dist/examples/stream.js [--load MODEL]
// [--regex RE | --json-schema JSON | --grammar-file FILE | --embed] [PROMPT]
// (the server address comes from GGUFD_ADDRESS, default 127.0.0.1:50051;
// GGUFD_TLS_CA and GGUFD_TOKEN as for ggufctl). --regex, --json-schema and
// --grammar-file constrain the output; --embed prints the prompt's embedding.
import { readFileSync } from 'node:fs';

import { type ConstraintParams, GgufdClient, GgufdError } from '../src';

/** Removes `--name VALUE` from args and returns VALUE. */
function takeOption(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args.splice(index, 2)[1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const model = takeOption(args, '--load');
  const regex = takeOption(args, '--regex');
  const jsonSchema = takeOption(args, '--json-schema');
  const grammarFile = takeOption(args, '--grammar-file');
  const embedIndex = args.indexOf('--embed');
  if (embedIndex >= 0) args.splice(embedIndex, 1);
  const prompt = args.join(' ') || 'Once upon a time';
  const constraint: ConstraintParams | undefined =
    (regex ?? jsonSchema ?? grammarFile)
      ? { regex, jsonSchema, grammar: grammarFile && readFileSync(grammarFile, 'utf8') }
      : undefined;

  const client = new GgufdClient(process.env.GGUFD_ADDRESS ?? '127.0.0.1:50051', {
    // As ggufctl reads them: a CA bundle turns TLS on; the bearer token.
    tls: process.env.GGUFD_TLS_CA ? { caFile: process.env.GGUFD_TLS_CA } : undefined,
    token: process.env.GGUFD_TOKEN || undefined,
  });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    if (model) {
      const info = await client.loadModel(model).info();
      console.error(`loaded ${info.name} (${info.architecture}, ${info.fileType})`);
    }
    if (embedIndex >= 0) {
      const result = await client.embed([prompt], {}, { signal: controller.signal });
      const head = result.vectors[0].slice(0, 8).map((x) => x.toFixed(4));
      console.log(`${head.join(' ')} ... (${result.dimensions} dimensions, ${result.pooling}, ${result.model})`);
      return 0;
    }
    // A constraint of two kinds throws a TypeError here, before anything is sent.
    const generation = client.generate(
      { text: prompt, stopping: { maxTokens: 128 }, constraint },
      { signal: controller.signal },
    );
    for await (const piece of generation.textChunks()) process.stdout.write(piece);
    process.stdout.write('\n');
    const usage = generation.finished?.usage;
    console.error(
      `[${generation.finished?.reason}: ${usage?.promptTokens} prompt + ${usage?.completionTokens} generated tokens]`,
    );
    return 0;
  } catch (error) {
    if (controller.signal.aborted) {
      console.error('\n[cancelled]');
      return 130;
    }
    if (error instanceof TypeError) {
      console.error(`usage: ${error.message}`);
      return 2;
    }
    if (error instanceof GgufdError) {
      console.error(`error: ${error.grpcCodeName} ${error.reason} (${error.errorCode}): ${error.details}`);
      return error.retryDelayMs !== undefined ? 3 : 1;
    }
    throw error;
  } finally {
    client.close();
  }
}

main().then((code) => {
  process.exitCode = code;
});
