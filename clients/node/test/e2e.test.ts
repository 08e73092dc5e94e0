// End-to-end tests of the client against a real ggufd with the real
// SmolLM2-135M model: the scenarios of the polyglot client contract.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';

import {
  DEFAULT_RETRY_POLICY,
  ErrorCode,
  FinishReason,
  GgufdClient,
  GgufdError,
  type GenerateRequest,
  Pooling,
  type RuntimeStatus__Output,
  toConstraint,
} from '../src';
import { GGUFCTL_BIN, MODEL_FILE, Server } from './server';
import { testHooks } from './test_hooks';

const TEST_TIMEOUT_MS = 60_000;
const PHONE = '[0-9]{3}-[0-9]{4}';

function norm(v: number[]): number {
  return Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
}

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * b[i], 0) / (norm(a) * norm(b));
}

let server: Server;
let client: GgufdClient;

/** Calls `read` until `done` holds for its value; fails after `timeoutMs`. */
async function poll<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

function waitIdle(runtime = 'default'): Promise<RuntimeStatus__Output> {
  return poll(
    `${runtime} idle`,
    () => client.status({ runtime }),
    (s) => s.runningOperation === '' && s.queueDepth === 0,
  );
}

/** Asserts that `promise` rejects with a GgufdError carrying these fields. */
async function assertGgufdError(
  promise: Promise<unknown>,
  expected: { grpcCode: grpc.status; reason?: string; errorCode?: number },
): Promise<GgufdError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof GgufdError, `not a GgufdError: ${String(caught)}`);
  assert.equal(caught.grpcCodeName, grpc.status[expected.grpcCode], caught.message);
  if (expected.reason !== undefined) assert.equal(caught.reason, expected.reason, caught.message);
  if (expected.errorCode !== undefined) assert.equal(caught.errorCode, expected.errorCode, caught.message);
  return caught;
}

/** A generation that runs long unless something stops it, with token ids in the chunks. */
function longRequest(requestId?: string): GenerateRequest {
  return {
    text: 'Once upon a time',
    requestId,
    stopping: { maxTokens: 500, ignoreEos: true },
    output: { tokenIds: true },
  };
}

describe('ggufd Node client', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    server = await Server.start();
    client = new GgufdClient(server.address);
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  it('reports health, loads the model with progress then info', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(await client.health(), 'SERVING');
    assert.equal(await client.health('ggufd.v1.Inference'), 'NOT_SERVING');

    const kinds: string[] = [];
    let architecture = '';
    for await (const event of client.loadModel(MODEL_FILE)) {
      kinds.push(event.event ?? '');
      if (event.progress) assert.ok(event.progress.fraction >= 0 && event.progress.fraction <= 1);
      if (event.model) architecture = event.model.architecture;
    }
    assert.ok(kinds.length >= 2, `events: ${kinds}`);
    assert.deepEqual(
      kinds.slice(0, -1),
      kinds.slice(0, -1).map(() => 'progress'),
    );
    assert.equal(kinds.at(-1), 'model');
    assert.equal(architecture, 'llama');

    await poll(
      'Inference SERVING',
      () => client.health('ggufd.v1.Inference'),
      (s) => s === 'SERVING',
    );
  });

  it('generates the same text as ggufctl for a seeded request', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Both runs start from an empty KV cache, so neither reuses the other's.
    await client.reset();
    const generation = client.generate({
      text: 'Once upon a time',
      sampling: { temperature: 0.8, seed: 42 },
      stopping: { maxTokens: 24 },
    });
    const text = await generation.text();
    assert.equal(generation.finished?.reason, 'FINISH_REASON_MAX_TOKENS');
    assert.equal(generation.finished?.usage?.completionTokens, 24);
    assert.equal(generation.finished?.usage?.promptTokens, generation.started?.promptTokens);
    assert.ok((generation.started?.promptTokens ?? 0) > 0);
    assert.equal(generation.started?.seed, '42');

    await client.reset();
    const { stdout } = await promisify(execFile)(GGUFCTL_BIN, [
      '-s',
      server.address,
      'generate',
      '-n',
      '24',
      '-t',
      '0.8',
      '--seed',
      '42',
      'Once upon a time',
    ]);
    // ggufctl ends its output with a newline once it has written any text.
    assert.ok(text.length > 0);
    assert.equal(stdout, `${text}\n`);
  });

  it('cancels a running generation through an AbortSignal within one token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = await client.status({ fresh: true });
    const controller = new AbortController();
    const generation = client.generate(longRequest(), { signal: controller.signal });
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const event of generation) {
          received += event.chunk?.tokens.length ?? 0;
          if (received > 0) controller.abort();
        }
      })(),
      (error: Error) => error.name === 'AbortError',
    );
    assert.ok(received > 0);

    await waitIdle();
    const afterStatus = await client.status({ fresh: true });
    const generated = Number(afterStatus.counters!.generatedTokens) - Number(before.counters!.generatedTokens);
    assert.ok(generated >= received, `generated ${generated} < received ${received}`);
    assert.ok(generated <= received + 2, `generated ${generated} tokens, received ${received}`);
    assert.equal(Number(afterStatus.counters!.generationsCancelled) - Number(before.counters!.generationsCancelled), 1);
  });

  it('cancels a generation by request id with cancel()', { timeout: TEST_TIMEOUT_MS }, async () => {
    const generation = client.generate(longRequest('node-explicit-cancel'));
    assert.equal(generation.requestId, 'node-explicit-cancel');
    let cancelled = false;
    for await (const event of generation) {
      if (event.chunk && !cancelled) {
        const response = await client.cancel(generation.requestId);
        assert.deepEqual(response, { found: true, state: 'running' });
        cancelled = true;
      }
    }
    assert.ok(cancelled);
    assert.equal(generation.finished?.reason, 'FINISH_REASON_CANCELLED');
    assert.deepEqual(await client.cancel(generation.requestId), { found: false, state: '' });
    await waitIdle();
  });

  it('gets RESOURCE_EXHAUSTED with QUEUE_FULL from a full queue', { timeout: TEST_TIMEOUT_MS }, async () => {
    const injectFault = (fault: 'FAULT_STALL_WORKER' | 'FAULT_RESUME_WORKER') =>
      client.unary((md, o, cb) =>
        testHooks(client).injectFault({ runtime: 'default', fault, stallMs: 30_000 }, md, o, cb),
      );
    await injectFault('FAULT_STALL_WORKER');
    let queued: Promise<string> | undefined;
    try {
      await poll(
        'the stall',
        () => client.status(),
        (s) => s.runningOperation === 'stall',
      );
      queued = client.generate({ text: 'Once upon a time', stopping: { maxTokens: 4 } }).text();
      // Settled below; until then keep a rejection from counting as unhandled.
      queued.catch(() => {});
      await poll(
        'queue depth 1',
        () => client.status(),
        (s) => s.queueDepth === 1,
      );
      // The client's retry policy retries RESOURCE_EXHAUSTED; the queue stays
      // full through every attempt, so the call still ends with it, and the
      // server logged one refusal per attempt.
      const refusal = '"code":"RESOURCE_EXHAUSTED"';
      const refusalsBefore = server.countLogLines(refusal);
      const error = await assertGgufdError(client.generate({ text: 'Once upon a time' }).text(), {
        grpcCode: grpc.status.RESOURCE_EXHAUSTED,
        reason: 'QUEUE_FULL',
        errorCode: ErrorCode.QUEUE_FULL,
      });
      assert.ok(error.retryDelayMs !== undefined && error.retryDelayMs > 0, `retryDelayMs ${error.retryDelayMs}`);
      await poll(
        `${DEFAULT_RETRY_POLICY.maxAttempts} refusals in the server log`,
        async () => server.countLogLines(refusal) - refusalsBefore,
        (n) => n === DEFAULT_RETRY_POLICY.maxAttempts,
      );
    } finally {
      await injectFault('FAULT_RESUME_WORKER');
    }
    assert.ok((await queued).length > 0);
    await waitIdle();
  });

  it('reads ErrorInfo for NO_MODEL and GENERATION_FAILED', { timeout: TEST_TIMEOUT_MS }, async () => {
    await client.createRuntime('empty');
    try {
      await assertGgufdError(client.generate({ text: 'Hi', runtime: 'empty' }).text(), {
        grpcCode: grpc.status.FAILED_PRECONDITION,
        reason: 'NO_MODEL',
        errorCode: ErrorCode.NO_MODEL,
      });
    } finally {
      await client.deleteRuntime('empty');
    }

    await client.unary((md, o, cb) =>
      testHooks(client).injectFault({ runtime: 'default', fault: 'FAULT_POISON_NEXT_GENERATE' }, md, o, cb),
    );
    const poisoned = { grpcCode: grpc.status.FAILED_PRECONDITION, reason: 'GENERATION_FAILED', errorCode: 13 };
    await assertGgufdError(client.generate({ text: 'Once upon a time', stopping: { maxTokens: 8 } }).text(), poisoned);
    await assertGgufdError(client.generate({ text: 'Once upon a time', stopping: { maxTokens: 8 } }).text(), poisoned);
    await client.reset();
    const text = await client.generate({ text: 'Once upon a time', stopping: { maxTokens: 8 } }).text();
    assert.ok(text.length > 0);
  });

  it('ends a generation past its deadline with DEADLINE_EXCEEDED', { timeout: TEST_TIMEOUT_MS }, async () => {
    await assertGgufdError(client.generate(longRequest(), { timeoutMs: 300 }).text(), {
      grpcCode: grpc.status.DEADLINE_EXCEEDED,
    });
    await waitIdle();

    // The client-wide default applies when the call sets none.
    const hasty = new GgufdClient(server.address, { timeoutMs: 300 });
    try {
      await assertGgufdError(hasty.generate(longRequest()).text(), { grpcCode: grpc.status.DEADLINE_EXCEEDED });
    } finally {
      hasty.close();
    }
    await waitIdle();
  });

  it('round-trips tokenize and answers a chat', { timeout: TEST_TIMEOUT_MS }, async () => {
    const ids = await client.tokenize('Hello, world!', { addSpecial: false });
    assert.ok(ids.length > 0);
    assert.equal(await client.detokenize(ids), 'Hello, world!');
    // A signal aborted before the call rejects with its reason.
    await assert.rejects(client.tokenize('Hello', {}, { signal: AbortSignal.abort() }), { name: 'AbortError' });

    const answer = await client
      .chat([{ role: 'user', content: 'What is the capital of France?' }], {
        sampling: { temperature: 0 },
        stopping: { maxTokens: 16 },
      })
      .text();
    assert.ok(answer.trim().length > 0, `answer ${JSON.stringify(answer)}`);
  });

  it('refuses to save a session without --state-dir (NOT_CONFIGURED)', { timeout: TEST_TIMEOUT_MS }, async () => {
    // This server runs without a state directory; test/sessions.test.ts has one.
    await client.generate({ text: 'Hello', sessionId: 'node-nodir', stopping: { maxTokens: 1 } }).text();
    const notConfigured = {
      grpcCode: grpc.status.FAILED_PRECONDITION,
      reason: 'NOT_CONFIGURED',
      errorCode: ErrorCode.NOT_CONFIGURED,
    };
    await assertGgufdError(client.saveSession('node-nodir'), notConfigured);
    await assertGgufdError(client.restoreSession('node-nodir.session'), notConfigured);
    assert.deepEqual(await client.deleteSession('node-nodir'), { found: true });
  });

  it('refuses a constraint of more than one kind before sending it', () => {
    assert.throws(() => client.generate({ text: 'Hi', constraint: { grammar: 'root ::= "a"', regex: 'a' } }), {
      name: 'TypeError',
      message: /exactly one of grammar, jsonSchema and regex; got grammar and regex/,
    });
    assert.throws(
      () => client.chat([{ role: 'user', content: 'Hi' }], { constraint: { jsonSchema: {}, regex: 'a' } }),
      {
        message: /got jsonSchema and regex/,
      },
    );
    assert.throws(() => client.generate({ text: 'Hi', constraint: {} }), { message: /got none/ });
    assert.deepEqual(toConstraint({ jsonSchema: { type: 'integer' } }), { jsonSchema: '{"type":"integer"}' });
  });

  it('keeps a generation to a regex and ends it CONSTRAINT_COMPLETE', { timeout: TEST_TIMEOUT_MS }, async () => {
    const samplings = [{ temperature: 0 }, ...[1, 2, 3].map((seed) => ({ temperature: 1, seed }))];
    for (const sampling of samplings) {
      const generation = client.generate({
        text: 'My phone number is ',
        sampling,
        stopping: { maxTokens: 48 },
        constraint: { regex: PHONE },
      });
      const text = await generation.text();
      assert.match(text, new RegExp(`^${PHONE}$`), JSON.stringify(sampling));
      assert.equal(generation.finished?.reason, FinishReason.FINISH_REASON_CONSTRAINT_COMPLETE);
      assert.ok((generation.finished?.usage?.completionTokens ?? 0) <= 8);
    }
  });

  it(
    'keeps a generation to a JSON Schema value and a chat to a GBNF grammar',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const schema = {
        type: 'object',
        properties: { answer: { enum: ['yes', 'no'] }, sure: { type: 'boolean' } },
        required: ['answer', 'sure'],
        additionalProperties: false,
      };
      const generation = client.generate({
        text: 'Is the sky blue? Reply in JSON: ',
        sampling: { temperature: 0 },
        stopping: { maxTokens: 48 },
        constraint: { jsonSchema: schema },
      });
      const value = JSON.parse(await generation.text()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(value).sort(), ['answer', 'sure']);
      assert.ok(value.answer === 'yes' || value.answer === 'no', JSON.stringify(value));
      assert.equal(typeof value.sure, 'boolean');
      // After the closing brace the grammar may still allow whitespace, which
      // the model may end with EOS instead.
      assert.ok(
        ['FINISH_REASON_CONSTRAINT_COMPLETE', 'FINISH_REASON_EOS'].includes(generation.finished?.reason ?? ''),
        generation.finished?.reason,
      );

      const chat = client.chat([{ role: 'user', content: 'Is water wet? Answer yes or no.' }], {
        sampling: { temperature: 0 },
        stopping: { maxTokens: 16 },
        constraint: { grammar: 'root ::= ("yes" | "no") "."' },
      });
      assert.ok(['yes.', 'no.'].includes(await chat.text()));
      assert.equal(chat.finished?.reason, 'FINISH_REASON_CONSTRAINT_COMPLETE');
    },
  );

  it('gets INVALID_ARGUMENT for a constraint the server cannot use', { timeout: TEST_TIMEOUT_MS }, async () => {
    const invalid = [
      { grammar: 'root ::= undefined-rule' },
      { grammar: 'root ::= "unterminated' },
      { regex: '[0-9' },
      { jsonSchema: '{not json' },
    ];
    for (const constraint of invalid) {
      await assertGgufdError(client.generate({ text: 'Hi', stopping: { maxTokens: 8 }, constraint }).text(), {
        grpcCode: grpc.status.INVALID_ARGUMENT,
        errorCode: ErrorCode.INVALID_ARGUMENT,
      });
    }
    assert.ok((await client.generate({ text: 'Hello', stopping: { maxTokens: 2 } }).text()).length > 0);
  });

  it('embeds texts as unit vectors of the model dimension', { timeout: TEST_TIMEOUT_MS }, async () => {
    const info = await client.modelInfo();
    const texts = ['The cat sat on the mat.', 'Stock markets fell sharply on Monday.', 'The cat sat on the mat.'];
    const result = await client.embed(texts);
    assert.equal(result.dimensions, info.embeddingLength);
    assert.ok(result.dimensions > 0);
    assert.equal(result.model, info.name);
    assert.notEqual(result.pooling, 'POOLING_UNSPECIFIED');
    assert.equal(result.vectors.length, 3);
    for (const vector of result.vectors) {
      assert.equal(vector.length, result.dimensions);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-4, `norm ${norm(vector)}`);
    }
    result.vectors[0].forEach((x, i) => assert.ok(Math.abs(x - result.vectors[2][i]) < 1e-6, `dimension ${i}`));
    assert.ok(cosine(result.vectors[0], result.vectors[1]) < 0.999);
    assert.deepEqual(result.truncated, [false, false, false]);
    assert.equal(
      result.tokens.reduce((a, b) => a + b, 0),
      result.promptTokens,
    );
    assert.ok(result.tokens.every((n) => n > 0));

    // Pooling and normalization reach the server.
    const mean = await client.embed([texts[1]], { pooling: 'mean' });
    const raw = await client.embed([texts[1]], { pooling: Pooling.POOLING_MEAN, normalize: false });
    assert.equal(mean.pooling, 'POOLING_MEAN');
    assert.equal(raw.pooling, 'POOLING_MEAN');
    const length = norm(raw.vectors[0]);
    assert.ok(Math.abs(length - 1) > 1e-3, 'normalize: false gave a unit vector');
    raw.vectors[0].forEach((x, i) => assert.ok(Math.abs(x / length - mean.vectors[0][i]) < 1e-5, `dimension ${i}`));
    const last = await client.embed([texts[1]], { pooling: 'last' });
    assert.equal(last.pooling, 'POOLING_LAST');
    assert.ok(cosine(last.vectors[0], mean.vectors[0]) < 0.9999);

    // Mistakes the client catches itself.
    await assert.rejects(client.embed('one text' as unknown as string[]), { name: 'TypeError' });
    await assert.rejects(client.embed(['a'], { pooling: 'max' as 'mean' }), { message: /unknown pooling 'max'/ });
  });
});
