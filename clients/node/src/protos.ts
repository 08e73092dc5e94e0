// Loads the ggufd API at run time from the .proto files this package carries
// (copied from the repository's proto/ folder by scripts/generate.mjs); the
// TypeScript types under generated/ describe the objects this loader yields.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

import type { ProtoGrpcType as DiagnosticsProto } from './generated/diagnostics';
import type { ProtoGrpcType as HealthProto } from './generated/health';
import type { ProtoGrpcType as InferenceProto } from './generated/inference';
import type { ProtoGrpcType as RuntimeProto } from './generated/runtime';
import type { ProtoGrpcType as SessionsProto } from './generated/sessions';

/** Where the package's copy of proto/ lives (dist/src/ → package root). */
export const PROTO_DIR = path.resolve(__dirname, '../../proto');

// Keep this list in step with scripts/generate.mjs. The test-only TestHooks
// service (testing.proto) is left out of the public API; the tests load it
// themselves (test/test_hooks.ts).
const SERVICE_FILES = [
  'ggufd/v1/inference.proto',
  'ggufd/v1/runtime.proto',
  'ggufd/v1/diagnostics.proto',
  'ggufd/v1/sessions.proto',
  'grpc/health/v1/health.proto',
];

// Must match the generator flags in scripts/generate.mjs. 64-bit integers
// come out as decimal strings because a seed of 2^64-1 does not fit a
// JavaScript number; enums come out as their names.
export const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export type ApiProto = InferenceProto & RuntimeProto & DiagnosticsProto & SessionsProto & HealthProto;

let api: ApiProto | undefined;

/** The service constructors and message definitions, loaded once per process. */
export function loadApi(): ApiProto {
  api ??= grpc.loadPackageDefinition(protoLoader.loadSync(SERVICE_FILES, LOADER_OPTIONS)) as unknown as ApiProto;
  return api;
}

/** The google.rpc messages that carry error details in trailers. */
export interface RpcDetailTypes {
  status: protobuf.Type;
  errorInfo: protobuf.Type;
  retryInfo: protobuf.Type;
  badRequest: protobuf.Type;
}

let rpcTypes: RpcDetailTypes | undefined;

/**
 * google.rpc.Status and its detail messages, as protobufjs types: the
 * grpc-status-details-bin trailer is raw bytes that gRPC itself leaves to
 * the application to decode.
 */
export function loadRpcDetailTypes(): RpcDetailTypes {
  if (rpcTypes) return rpcTypes;
  const root = new protobuf.Root();
  // Imports are relative to the proto root; google/protobuf/* comes bundled
  // with protobufjs.
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
  // keepCase, because protobufjs's bundled google.protobuf.Any keeps its
  // snake_case names whatever the option; the rest then matches it.
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  rpcTypes = {
    status: root.lookupType('google.rpc.Status'),
    errorInfo: root.lookupType('google.rpc.ErrorInfo'),
    retryInfo: root.lookupType('google.rpc.RetryInfo'),
    badRequest: root.lookupType('google.rpc.BadRequest'),
  };
  return rpcTypes;
}

let errorCodeEnum: protobuf.Enum | undefined;

/** The ggufd.v1.ErrorCode enum (numbers and names) from the package's error_code.proto. */
export function loadErrorCodeEnum(): protobuf.Enum {
  if (errorCodeEnum) return errorCodeEnum;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
  root.loadSync('ggufd/v1/error_code.proto');
  errorCodeEnum = root.lookupEnum('ggufd.v1.ErrorCode');
  return errorCodeEnum;
}
