// Streams a generation to stdout; Ctrl-C cancels it on the server through an
// AbortSignal. Usage: node dist/examples/stream.js [--load MODEL] [PROMPT]
// (the server address comes from GGUFD_ADDRESS, default 127.0.0.1:50051;
// GGUFD_TLS_CA and GGUFD_TOKEN as for ggufctl).
import { GgufdClient, GgufdError } from '../src';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const loadIndex = args.indexOf('--load');
  const model = loadIndex >= 0 ? args.splice(loadIndex, 2)[1] : undefined;
  const prompt = args.join(' ') || 'Once upon a time';

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
    const generation = client.generate({ text: prompt, stopping: { maxTokens: 128 } }, { signal: controller.signal });
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
