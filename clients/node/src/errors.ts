// The one error type the client throws for a failed RPC, with ggufd's
// google.rpc details (ErrorInfo, RetryInfo, BadRequest) decoded from the
// grpc-status-details-bin trailer.
import * as grpc from '@grpc/grpc-js';

import { loadRpcDetailTypes } from './protos';

/** ggufd's numeric error codes (ErrorInfo.metadata["error_code"]). */
export const ErrorCode = {
  INVALID_ARGUMENT: 1,
  MODEL_NOT_FOUND: 2,
  INVALID_MODEL: 3,
  UNSUPPORTED_MODEL: 4,
  NO_MODEL: 5,
  CONTEXT_OVERFLOW: 6,
  OUT_OF_MEMORY: 7,
  CANCELLED: 8,
  DEADLINE_EXCEEDED: 9,
  QUEUE_FULL: 10,
  PERMISSION_DENIED: 11,
  INTERNAL: 12,
  GENERATION_FAILED: 13,
  UNAVAILABLE: 14,
  SHUTTING_DOWN: 15,
  RUNTIME_NOT_FOUND: 16,
  SESSION_NOT_FOUND: 17,
  ALREADY_EXISTS: 18,
  SESSION_MISMATCH: 19,
  NOT_CONFIGURED: 20,
} as const;

export interface FieldViolation {
  field: string;
  description: string;
}

const ERROR_DOMAIN = 'ggufd';
const TYPE_PREFIX = 'type.googleapis.com/';

export class GgufdError extends Error {
  /** The gRPC status code (grpc.status.*). */
  readonly grpcCode: grpc.status;
  /** The status message as the server (or gRPC) wrote it. */
  readonly details: string;
  /** ErrorInfo.reason, ggufd's error code name ("QUEUE_FULL"); "" when gRPC itself failed the call. */
  readonly reason: string;
  /** ggufd's numeric error code (see ErrorCode); 0 when the status carried no ErrorInfo. */
  readonly errorCode: number;
  /** RetryInfo.retry_delay in milliseconds, when the server says retrying helps. */
  readonly retryDelayMs: number | undefined;
  /** BadRequest field violations, for INVALID_ARGUMENT. */
  readonly fieldViolations: FieldViolation[];
  /** The response trailers. */
  readonly metadata: grpc.Metadata;

  constructor(init: {
    grpcCode: grpc.status;
    details: string;
    reason?: string;
    errorCode?: number;
    retryDelayMs?: number;
    fieldViolations?: FieldViolation[];
    metadata?: grpc.Metadata;
  }) {
    const suffix = init.reason ? ` [${init.reason} ${init.errorCode ?? 0}]` : '';
    super(`${grpc.status[init.grpcCode] ?? init.grpcCode}: ${init.details}${suffix}`);
    this.name = 'GgufdError';
    this.grpcCode = init.grpcCode;
    this.details = init.details;
    this.reason = init.reason ?? '';
    this.errorCode = init.errorCode ?? 0;
    this.retryDelayMs = init.retryDelayMs;
    this.fieldViolations = init.fieldViolations ?? [];
    this.metadata = init.metadata ?? new grpc.Metadata();
  }

  /** The gRPC code's name, e.g. "RESOURCE_EXHAUSTED". */
  get grpcCodeName(): string {
    return grpc.status[this.grpcCode] ?? String(this.grpcCode);
  }
}

interface AnyMessage {
  type_url?: string;
  value?: Uint8Array;
}

/**
 * Converts a grpc-js ServiceError into a GgufdError. A trailer that does not
 * decode leaves the details empty rather than hiding the status itself.
 */
export function toGgufdError(error: unknown): unknown {
  if (error instanceof GgufdError || !isServiceError(error)) return error;
  const fields: ConstructorParameters<typeof GgufdError>[0] = {
    grpcCode: error.code,
    details: error.details,
    metadata: error.metadata,
  };
  const trailer = error.metadata?.get('grpc-status-details-bin')[0];
  if (trailer instanceof Buffer) {
    try {
      Object.assign(fields, decodeDetails(trailer));
    } catch {
      // A malformed trailer: the code and message still say what failed.
    }
  }
  return new GgufdError(fields);
}

function decodeDetails(trailer: Buffer): Partial<ConstructorParameters<typeof GgufdError>[0]> {
  const types = loadRpcDetailTypes();
  const status = types.status.toObject(types.status.decode(trailer)) as { details?: AnyMessage[] };
  const out: Partial<ConstructorParameters<typeof GgufdError>[0]> = {};
  for (const any of status.details ?? []) {
    const typeName = any.type_url?.startsWith(TYPE_PREFIX) ? any.type_url.slice(TYPE_PREFIX.length) : any.type_url;
    const value = any.value ?? new Uint8Array();
    if (typeName === 'google.rpc.ErrorInfo') {
      const info = types.errorInfo.toObject(types.errorInfo.decode(value)) as {
        reason?: string;
        domain?: string;
        metadata?: Record<string, string>;
      };
      if (info.domain !== ERROR_DOMAIN) continue;
      out.reason = info.reason ?? '';
      const code = Number.parseInt(info.metadata?.error_code ?? '', 10);
      out.errorCode = Number.isFinite(code) ? code : 0;
    } else if (typeName === 'google.rpc.RetryInfo') {
      const retry = types.retryInfo.toObject(types.retryInfo.decode(value), { longs: Number }) as {
        retry_delay?: { seconds?: number; nanos?: number };
      };
      if (retry.retry_delay) {
        const { seconds = 0, nanos = 0 } = retry.retry_delay;
        out.retryDelayMs = seconds * 1000 + Math.round(nanos / 1e6);
      }
    } else if (typeName === 'google.rpc.BadRequest') {
      const bad = types.badRequest.toObject(types.badRequest.decode(value)) as {
        field_violations?: FieldViolation[];
      };
      out.fieldViolations = (bad.field_violations ?? []).map((v) => ({
        field: v.field ?? '',
        description: v.description ?? '',
      }));
    }
  }
  return out;
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<grpc.ServiceError>).code === 'number' &&
    (error as Partial<grpc.ServiceError>).metadata instanceof grpc.Metadata
  );
}
