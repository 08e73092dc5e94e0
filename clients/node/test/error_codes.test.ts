// The client's error table follows proto/ggufd/v1/error_code.proto: every
// value of the enum (the server's list) is in ErrorCode under its reason with
// its number, and a trailer carrying it decodes to that reason and number.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import { ErrorCode, GgufdError, reasonOf, toGgufdError } from '../src/errors';
import { loadErrorCodeEnum, loadRpcDetailTypes } from '../src/protos';

/** A failed call's status as grpc-js hands it over, with an ErrorInfo trailer. */
function failedCall(reason: string, number: number): grpc.ServiceError {
  const types = loadRpcDetailTypes();
  const info = types.errorInfo
    .encode(types.errorInfo.create({ domain: 'ggufd', reason, metadata: { error_code: String(number) } }))
    .finish();
  const status = types.status
    .encode(
      types.status.create({
        code: grpc.status.UNKNOWN,
        message: 'boom',
        details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: info }],
      }),
    )
    .finish();
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return Object.assign(new Error('boom'), { code: grpc.status.UNKNOWN, details: 'boom', metadata });
}

describe('error codes', () => {
  const values = Object.entries(loadErrorCodeEnum().values).filter(([, n]) => n !== 0);

  it('has every enum value under its reason', () => {
    assert.ok(values.length >= 24, `only ${values.length} values`);
    assert.equal(Object.keys(ErrorCode).length, values.length);
    for (const [name, number] of values) {
      const reason = name.replace(/^ERROR_CODE_/, '');
      assert.equal((ErrorCode as Record<string, number>)[reason], number, name);
      assert.equal(reasonOf(number), reason);
    }
  });

  it('knows the codes the hand-written table lacked', () => {
    assert.equal(ErrorCode.RUNTIME_NOT_FOUND, 16);
    assert.equal(ErrorCode.LIMIT_EXCEEDED, 24);
    assert.equal(reasonOf(16), 'RUNTIME_NOT_FOUND');
    assert.equal(reasonOf(0), undefined);
    assert.equal(reasonOf(9999), undefined);
  });

  it('decodes every code from a trailer', () => {
    for (const [name, number] of values) {
      const reason = name.replace(/^ERROR_CODE_/, '');
      const error = toGgufdError(failedCall(reason, number));
      assert.ok(error instanceof GgufdError, name);
      assert.equal(error.reason, reason);
      assert.equal(error.errorCode, number);
    }
  });
});
