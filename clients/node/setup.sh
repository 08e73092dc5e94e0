#!/usr/bin/env bash
# Installs the Node client's exact dependency versions (package-lock.json)
# from the npm registry and builds it: the proto copy and TypeScript types
# generated from ../../proto, then the compiled library, example and tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# No dependency needs an install script; skipping them keeps the install
# from reaching anywhere but the registry.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
npm run --silent build
