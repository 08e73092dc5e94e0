// The gRPC service config the client's channel starts with: retries for the
// two codes ggufd sends when trying again later can succeed.
export interface RetryPolicy {
  /** Attempts including the first (2..5; gRPC caps it at 5). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 1000,
  backoffMultiplier: 2,
};

const SERVICES = ['ggufd.v1.Inference', 'ggufd.v1.Runtime', 'ggufd.v1.Diagnostics', 'grpc.health.v1.Health'];

// UNAVAILABLE: the runtime's worker died or the server is draining.
// RESOURCE_EXHAUSTED: the runtime's queue is full. ggufd sends both before
// any response header, so gRPC can replay the call without a duplicate; no
// other code is safe or useful to retry.
const RETRYABLE_CODES = ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** The service config JSON for the channel option grpc.service_config. */
export function serviceConfigJson(policy: RetryPolicy): string {
  return JSON.stringify({
    methodConfig: [
      {
        name: SERVICES.map((service) => ({ service })),
        retryPolicy: {
          maxAttempts: policy.maxAttempts,
          initialBackoff: seconds(policy.initialBackoffMs),
          maxBackoff: seconds(policy.maxBackoffMs),
          backoffMultiplier: policy.backoffMultiplier,
          retryableStatusCodes: RETRYABLE_CODES,
        },
      },
    ],
  });
}
