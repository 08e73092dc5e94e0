// End-to-end tests of the client's TLS, mTLS and bearer-token options and of
// the typed errors for ggufd's security refusals, against real ggufd servers
// started with --tls-*, --auth-file and limit flags. Certificates are made
// with openssl at test time (test/pki.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';

import {
  AccessDeniedError,
  type ClientOptions,
  ErrorCode,
  GgufdClient,
  GgufdError,
  LimitExceededError,
  MessageTooLargeError,
  toGgufdError,
  UnauthenticatedError,
} from '../src';
import { type Issued, TestPki } from './pki';
import { MODEL_FILE, MODELS_DIR, Server } from './server';

const TEST_TIMEOUT_MS = 60_000;
const GROUP_TIMEOUT_MS = 3 * TEST_TIMEOUT_MS;

const INFERENCE_TOKEN = 'node-inference-token';
const ADMIN_TOKEN = 'node-admin-token';
const CLIENT_ID = 'spiffe://test/node-client';

/** An auth file line for a token: its SHA-256 hex, as `ggufd hash-token` prints it. */
function tokenLine(token: string, role: 'inference' | 'admin', name: string): string {
  return `${createHash('sha256').update(token).digest('hex')} ${role} ${name}\n`;
}

/** Starts ggufd with the model loaded (by --model) and waits until Inference is SERVING. */
async function startWithModel(args: string[], probe: ClientOptions): Promise<Server> {
  const server = await Server.start(['--model', path.join(MODELS_DIR, MODEL_FILE), ...args]);
  // Health is open: no token needed, but the transport must match.
  const client = new GgufdClient(server.address, { ...probe, timeoutMs: 5_000 });
  try {
    const end = Date.now() + 30_000;
    while ((await client.health('ggufd.v1.Inference')) !== 'SERVING') {
      if (Date.now() > end) assert.fail(`the model did not load:\n${server.log.join('\n')}`);
      await sleep(25);
    }
  } finally {
    client.close();
  }
  return server;
}

/** Asserts that `promise` rejects with an error of `type` carrying these fields. */
async function assertRejects<E extends GgufdError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  expected: { grpcCode: grpc.status; reason?: string; errorCode?: number },
): Promise<E> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof type, `not a ${type.name}: ${String(caught)}`);
  assert.equal(caught.grpcCodeName, grpc.status[expected.grpcCode], caught.message);
  if (expected.reason !== undefined) assert.equal(caught.reason, expected.reason, caught.message);
  if (expected.errorCode !== undefined) assert.equal(caught.errorCode, expected.errorCode, caught.message);
  return caught;
}

/** Runs `use` with a client that is closed afterwards. */
async function withClient<T>(address: string, options: ClientOptions, use: (c: GgufdClient) => Promise<T>): Promise<T> {
  const client = new GgufdClient(address, { timeoutMs: 20_000, ...options });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

const greedy = (maxTokens: number) => ({
  text: 'Once upon a time',
  sampling: { temperature: 0 },
  stopping: { maxTokens, ignoreEos: true },
});

describe('TLS', { timeout: GROUP_TIMEOUT_MS }, () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let server: Server;

  before(async () => {
    pki = new TestPki('tls');
    otherPki = new TestPki('other');
    const cert = pki.issueServer('server');
    server = await startWithModel(['--tls-cert', cert.cert, '--tls-key', cert.key], {
      tls: { caFile: pki.caFile, serverName: 'localhost' },
    });
  });

  after(async () => {
    await server?.stop();
    pki?.remove();
    otherPki?.remove();
  });

  it('generates over TLS, trusting the CA from a file or from bytes', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withClient(server.address, { tls: { caFile: pki.caFile, serverName: 'localhost' } }, async (client) => {
      const generation = client.generate(greedy(4));
      const text = await generation.text();
      assert.ok(text.length > 0);
      assert.equal(generation.finished?.usage?.completionTokens, 4);
    });
    // The certificate names 127.0.0.1 too, so the address's host verifies as is.
    await withClient(server.address, { tls: { ca: pki.read(pki.caFile) } }, async (client) => {
      assert.ok((await client.tokenize('Hello')).length > 0);
    });
  });

  // The refusals below are UNAVAILABLE, which the retry policy retries with
  // backoff; retry: false only keeps them fast, the status is the same.
  it('fails to connect when it trusts another CA, or with plaintext', { timeout: TEST_TIMEOUT_MS }, async () => {
    const unavailable = { grpcCode: grpc.status.UNAVAILABLE };
    const other = { tls: { caFile: otherPki.caFile, serverName: 'localhost' }, retry: false } as const;
    await withClient(server.address, other, async (client) => {
      const error = await assertRejects(client.tokenize('Hello'), GgufdError, unavailable);
      assert.match(error.details, /certificate/);
    });
    // The system roots do not know the test CA either.
    await withClient(server.address, { tls: true, retry: false }, async (client) => {
      const error = await assertRejects(client.tokenize('Hello'), GgufdError, unavailable);
      assert.match(error.details, /certificate/);
    });
    await withClient(server.address, { retry: false }, (client) =>
      assertRejects(client.tokenize('Hello'), GgufdError, unavailable),
    );
  });

  it('verifies the certificate for serverName instead of the host', { timeout: TEST_TIMEOUT_MS }, async () => {
    // The certificate is valid for 127.0.0.1, so only the override can fail this.
    const wrongName = { tls: { caFile: pki.caFile, serverName: 'ggufd.example' }, retry: false } as const;
    await withClient(server.address, wrongName, async (client) => {
      const error = await assertRejects(client.tokenize('Hello'), GgufdError, { grpcCode: grpc.status.UNAVAILABLE });
      assert.match(error.details, /ggufd\.example/);
    });
    await withClient(server.address, { tls: { caFile: pki.caFile, serverName: 'localhost' } }, async (client) => {
      assert.ok((await client.tokenize('Hello')).length > 0);
    });
  });
});

describe('mTLS with an auth file', { timeout: GROUP_TIMEOUT_MS }, () => {
  let pki: TestPki;
  let server: Server;
  let listed: Issued;
  let unlisted: Issued;

  before(async () => {
    pki = new TestPki('mtls');
    const cert = pki.issueServer('server');
    listed = pki.issueClient('listed', CLIENT_ID);
    unlisted = pki.issueClient('unlisted', 'spiffe://test/unlisted');
    const authFile = path.join(pki.dir, 'auth');
    writeFileSync(authFile, `cert:${CLIENT_ID} admin node-cert\n${tokenLine(INFERENCE_TOKEN, 'inference', 'web')}`);
    server = await startWithModel(
      ['--tls-cert', cert.cert, '--tls-key', cert.key, '--tls-client-ca', pki.caFile, '--auth-file', authFile],
      { tls: { caFile: pki.caFile, certFile: listed.cert, keyFile: listed.key } },
    );
  });

  after(async () => {
    await server?.stop();
    pki?.remove();
  });

  it('refuses a client without a certificate at the handshake', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Required client certificates: even a valid token does not get in.
    const noCert = { tls: { caFile: pki.caFile }, token: INFERENCE_TOKEN, retry: false } as const;
    await withClient(server.address, noCert, (client) =>
      assertRejects(client.tokenize('Hello'), GgufdError, { grpcCode: grpc.status.UNAVAILABLE }),
    );
  });

  it('admits a listed client certificate without a token, with its role', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tls = { caFile: pki.caFile, certFile: listed.cert, keyFile: listed.key };
    await withClient(server.address, { tls }, async (client) => {
      assert.ok((await client.generate(greedy(3)).text()).length > 0);
      // The certificate's line says admin: the Diagnostics service answers.
      const status = await client.status({ fresh: true });
      assert.ok(Number(status.counters?.generatedTokens) >= 3, JSON.stringify(status.counters));
    });
  });

  it('needs a token with a certificate the auth file does not list', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tls = { caFile: pki.caFile, cert: pki.read(unlisted.cert), key: pki.read(unlisted.key) };
    await withClient(server.address, { tls }, (client) =>
      assertRejects(client.tokenize('Hello'), UnauthenticatedError, {
        grpcCode: grpc.status.UNAUTHENTICATED,
        reason: 'UNAUTHENTICATED',
        errorCode: ErrorCode.UNAUTHENTICATED,
      }),
    );
    await withClient(server.address, { tls, token: INFERENCE_TOKEN }, async (client) => {
      assert.ok((await client.tokenize('Hello')).length > 0);
      // The token's role (inference), not a certificate's, decides.
      await assertRejects(client.status(), AccessDeniedError, {
        grpcCode: grpc.status.PERMISSION_DENIED,
        reason: 'ACCESS_DENIED',
        errorCode: ErrorCode.ACCESS_DENIED,
      });
    });
  });
});

describe('tokens and limits over plaintext', { timeout: GROUP_TIMEOUT_MS }, () => {
  let pki: TestPki; // only its temporary folder, for the auth and token files
  let server: Server;

  const unauthenticated = {
    grpcCode: grpc.status.UNAUTHENTICATED,
    reason: 'UNAUTHENTICATED',
    errorCode: ErrorCode.UNAUTHENTICATED,
  };
  const accessDenied = {
    grpcCode: grpc.status.PERMISSION_DENIED,
    reason: 'ACCESS_DENIED',
    errorCode: ErrorCode.ACCESS_DENIED,
  };

  before(async () => {
    pki = new TestPki('auth');
    const authFile = path.join(pki.dir, 'auth');
    writeFileSync(authFile, tokenLine(INFERENCE_TOKEN, 'inference', 'web') + tokenLine(ADMIN_TOKEN, 'admin', 'ops'));
    server = await startWithModel(
      [
        '--auth-file',
        authFile,
        '--metrics-port',
        '0',
        '--max-receive-message-bytes',
        '4096',
        '--max-new-tokens',
        '8',
        '--max-runtimes',
        '1',
      ],
      {},
    );
  });

  after(async () => {
    await server?.stop();
    pki?.remove();
  });

  it('refuses calls without a token or with an unknown one', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withClient(server.address, {}, async (client) => {
      // Health is open to everyone.
      assert.equal(await client.health(), 'SERVING');
      await assertRejects(client.generate(greedy(2)).text(), UnauthenticatedError, unauthenticated);
      await assertRejects(client.tokenize('Hello'), UnauthenticatedError, unauthenticated);
    });
    await withClient(server.address, { token: 'not-a-listed-token' }, async (client) => {
      await assertRejects(client.generate(greedy(2)).text(), UnauthenticatedError, unauthenticated);
    });
  });

  it('lets an inference token generate but not call admin methods', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withClient(server.address, { token: INFERENCE_TOKEN }, async (client) => {
      const generation = client.generate(greedy(3));
      assert.ok((await generation.text()).length > 0);
      assert.equal(generation.finished?.usage?.completionTokens, 3);
      await assertRejects(client.status(), AccessDeniedError, accessDenied);
      await assertRejects(client.loadModel(MODEL_FILE).info(), AccessDeniedError, accessDenied);
    });
  });

  it('lets an admin token call the admin services', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withClient(server.address, { token: ADMIN_TOKEN }, async (client) => {
      const status = await client.status();
      assert.ok(status.modelLoaded, JSON.stringify(status));
      assert.deepEqual(
        (await client.listRuntimes()).map((r) => r.name),
        ['default'],
      );
    });
  });

  it('takes the token from a function, a file, or the call metadata', { timeout: TEST_TIMEOUT_MS }, async () => {
    let asked = 0;
    const source = async (): Promise<string> => {
      asked += 1;
      await sleep(1);
      return ADMIN_TOKEN;
    };
    await withClient(server.address, { token: source }, async (client) => {
      await client.status();
      assert.ok((await client.generate(greedy(2)).text()).length > 0);
      assert.equal(asked, 2);
    });

    const tokenFile = path.join(pki.dir, 'token');
    writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`);
    await withClient(server.address, { tokenFile }, (client) => client.status());

    // A call's own authorization metadata wins over the client's token.
    await withClient(server.address, { token: INFERENCE_TOKEN }, async (client) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${ADMIN_TOKEN}`);
      await client.status({}, { metadata });
    });

    // A token source that fails fails the call before the server sees it.
    const denials = 'ggufd_auth_denials_total{method="Inference/Tokenize",reason="UNAUTHENTICATED"}';
    const deniedBefore = await server.metric(denials);
    const failing = () => Promise.reject(new Error('no token today'));
    await withClient(server.address, { token: failing }, async (client) => {
      const error = await assertRejects(client.tokenize('Hello'), UnauthenticatedError, {
        grpcCode: grpc.status.UNAUTHENTICATED,
        reason: '',
      });
      assert.match(error.details, /no token today/);
    });
    // The same refusal from the server is counted, so the count can tell.
    await withClient(server.address, {}, (client) =>
      assertRejects(client.tokenize('Hello'), UnauthenticatedError, unauthenticated),
    );
    assert.equal((await server.metric(denials)) - deniedBefore, 1);
  });

  it('maps refusals without ErrorInfo by their status code', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Channelz is gRPC's own service: with an auth file it is admin-only, and
    // the server refuses it without ErrorInfo.
    const channelz = (metadata: grpc.Metadata): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
        raw.makeUnaryRequest(
          '/grpc.channelz.v1.Channelz/GetTopChannels',
          (request: Buffer) => request,
          (response: Buffer) => response,
          Buffer.alloc(0),
          metadata,
          { deadline: Date.now() + 10_000 },
          (error, response) => {
            raw.close();
            if (error) reject(toGgufdError(error));
            else resolve(response);
          },
        );
      });
    await assertRejects(channelz(new grpc.Metadata()), UnauthenticatedError, {
      grpcCode: grpc.status.UNAUTHENTICATED,
      reason: '',
      errorCode: 0,
    });
    const inference = new grpc.Metadata();
    inference.set('authorization', `Bearer ${INFERENCE_TOKEN}`);
    await assertRejects(channelz(inference), AccessDeniedError, {
      grpcCode: grpc.status.PERMISSION_DENIED,
      reason: '',
      errorCode: 0,
    });
    const admin = new grpc.Metadata();
    admin.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.ok(await channelz(admin));
  });

  it('refuses a request over --max-receive-message-bytes once, not retried', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sample = 'ggufd_limit_rejections_total{limit="message_bytes"}';
    const before = await server.metric(sample);
    // Over the 4096-byte limit but under twice it (beyond that gRPC itself
    // drops the message, without ggufd's ErrorInfo).
    const prompt = 'word '.repeat(1200);
    await withClient(server.address, { token: INFERENCE_TOKEN }, async (client) => {
      const error = await assertRejects(
        client.generate({ text: prompt, stopping: { maxTokens: 1 } }).text(),
        MessageTooLargeError,
        {
          grpcCode: grpc.status.RESOURCE_EXHAUSTED,
          reason: 'MESSAGE_TOO_LARGE',
          errorCode: ErrorCode.MESSAGE_TOO_LARGE,
        },
      );
      assert.equal(error.retryDelayMs, undefined);
    });
    // The client's retry policy retries RESOURCE_EXHAUSTED (for QUEUE_FULL);
    // this refusal's pushback trailer stops it after the first attempt.
    assert.equal((await server.metric(sample)) - before, 1);
  });

  it("maps gRPC's own refusal of a message over twice the limit", { timeout: TEST_TIMEOUT_MS }, async () => {
    // gRPC drops it before ggufd sees it: no ErrorInfo and no pushback
    // trailer, so the retry policy would send it again (retry: false keeps
    // this fast).
    await withClient(server.address, { token: INFERENCE_TOKEN, retry: false }, async (client) => {
      const error = await assertRejects(
        client.generate({ text: 'word '.repeat(2000), stopping: { maxTokens: 1 } }).text(),
        MessageTooLargeError,
        { grpcCode: grpc.status.RESOURCE_EXHAUSTED, reason: '', errorCode: 0 },
      );
      assert.match(error.details, /larger than max/);
    });
  });

  it('refuses max_tokens over --max-new-tokens with LIMIT_EXCEEDED', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sample = 'ggufd_limit_rejections_total{limit="new_tokens"}';
    const before = await server.metric(sample);
    await withClient(server.address, { token: INFERENCE_TOKEN }, async (client) => {
      const error = await assertRejects(client.generate(greedy(9)).text(), LimitExceededError, {
        grpcCode: grpc.status.INVALID_ARGUMENT,
        reason: 'LIMIT_EXCEEDED',
        errorCode: ErrorCode.LIMIT_EXCEEDED,
      });
      assert.deepEqual(
        error.fieldViolations.map((v) => v.field),
        ['stopping.max_tokens'],
      );
      const generation = client.generate(greedy(8));
      await generation.text();
      assert.equal(generation.finished?.usage?.completionTokens, 8);
    });
    assert.equal((await server.metric(sample)) - before, 1);
  });

  it('refuses a runtime over --max-runtimes once, not retried', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sample = 'ggufd_limit_rejections_total{limit="runtimes"}';
    const before = await server.metric(sample);
    await withClient(server.address, { token: ADMIN_TOKEN }, (client) =>
      assertRejects(client.createRuntime('node-extra'), LimitExceededError, {
        grpcCode: grpc.status.RESOURCE_EXHAUSTED,
        reason: 'LIMIT_EXCEEDED',
        errorCode: ErrorCode.LIMIT_EXCEEDED,
      }),
    );
    assert.equal((await server.metric(sample)) - before, 1);
  });
});
