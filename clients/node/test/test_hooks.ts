// The test-only TestHooks service (proto/ggufd/v1/testing.proto), which the
// package's public stubs leave out: loaded here from the package's proto copy
// and bound to a client's channel, for tests against a server started with
// --enable-test-hooks.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import type { GgufdClient } from '../src/client';
import type { TestHooksClient } from '../src/generated/ggufd/v1/TestHooks';
import type { ProtoGrpcType as TestingProto } from '../src/generated/testing';
import { LOADER_OPTIONS } from '../src/protos';

let api: TestingProto | undefined;
const stubs = new WeakMap<GgufdClient, TestHooksClient>();

/** A TestHooks stub on `client`'s channel (one per client). */
export function testHooks(client: GgufdClient): TestHooksClient {
  let stub = stubs.get(client);
  if (!stub) {
    api ??= grpc.loadPackageDefinition(
      protoLoader.loadSync(['ggufd/v1/testing.proto'], LOADER_OPTIONS),
    ) as unknown as TestingProto;
    const channel = client.stubs.inference.getChannel();
    stub = new api.ggufd.v1.TestHooks('unused', grpc.credentials.createInsecure(), {
      channelOverride: channel as grpc.Channel,
    });
    stubs.set(client, stub);
  }
  return stub;
}
