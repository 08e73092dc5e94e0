"""Channel options shared by Client and AsyncClient: the retry policy lives
in the gRPC service config, so gRPC itself retries (with backoff) and only
calls the server refused before doing any work."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Services whose calls may be retried. TestHooks is left out on purpose: a
# fault injected twice is not the same as once.
_RETRIED_SERVICES = (
    "ggufd.v1.Inference",
    "ggufd.v1.Runtime",
    "ggufd.v1.Diagnostics",
    "grpc.health.v1.Health",
)


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC retry policy for UNAVAILABLE and RESOURCE_EXHAUSTED.

    ggufd answers RESOURCE_EXHAUSTED (queue full) before sending any header
    and UNAVAILABLE before running anything, so both are safe to retry. Its
    other RESOURCE_EXHAUSTED refusals (MESSAGE_TOO_LARGE, LIMIT_EXCEEDED)
    carry `grpc-retry-pushback-ms: -1`, which stops gRPC from retrying them.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.2
    max_backoff: float = 2.0
    backoff_multiplier: float = 2.0

    def service_config(self) -> str:
        policy = {
            "maxAttempts": self.max_attempts,
            "initialBackoff": f"{self.initial_backoff}s",
            "maxBackoff": f"{self.max_backoff}s",
            "backoffMultiplier": self.backoff_multiplier,
            "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
        }
        return json.dumps(
            {
                "methodConfig": [
                    {
                        "name": [{"service": s} for s in _RETRIED_SERVICES],
                        "retryPolicy": policy,
                    }
                ]
            }
        )


def channel_options(
    retry: RetryPolicy | None, extra: Sequence[tuple[str, Any]] = ()
) -> list[tuple[str, Any]]:
    """grpc channel arguments: the service config with `retry` (or retries
    disabled when None), then the caller's own options."""
    options: list[tuple[str, Any]] = []
    if retry is None:
        options.append(("grpc.enable_retries", 0))
    else:
        options += [
            ("grpc.enable_retries", 1),
            ("grpc.service_config", retry.service_config()),
        ]
    options += list(extra)
    return options
