// Copies the API's .proto files from the repository's proto/ folder into this
// package (so a packed or installed copy carries the schema it loads at run
// time) and generates the TypeScript types for them with @grpc/proto-loader's
// proto-loader-gen-types. Both outputs are git-ignored: proto/ stays the one
// source of truth.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = resolve(process.env.GGUFD_PROTO_DIR ?? join(packageDir, '../../proto'));
const protoDir = join(packageDir, 'proto');
const generatedDir = join(packageDir, 'src/generated');

// Keep this list in step with PROTO_FILES in src/protos.ts.
const files = [
  'ggufd/v1/error_code.proto',
  'ggufd/v1/generation_options.proto',
  'ggufd/v1/inference.proto',
  'ggufd/v1/runtime.proto',
  'ggufd/v1/diagnostics.proto',
  'ggufd/v1/sessions.proto',
  'ggufd/v1/testing.proto',
  'grpc/health/v1/health.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

// A packed copy has no repository around it; it ships proto/ already.
if (existsSync(join(sourceDir, files[0]))) {
  rmSync(protoDir, { recursive: true, force: true });
  for (const file of files) {
    mkdirSync(dirname(join(protoDir, file)), { recursive: true });
    cpSync(join(sourceDir, file), join(protoDir, file));
  }
} else if (!existsSync(join(protoDir, files[0]))) {
  console.error(`generate: no .proto files in ${sourceDir} or ${protoDir}`);
  process.exit(1);
}

// The options must match LOADER_OPTIONS in src/protos.ts, since the types
// describe the objects the loader produces.
rmSync(generatedDir, { recursive: true, force: true });
const require = createRequire(import.meta.url);
const generator = require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
const result = spawnSync(
  process.execPath,
  [
    generator,
    '--grpcLib=@grpc/grpc-js',
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--includeComments',
    `--includeDirs=${protoDir}`,
    `--outDir=${generatedDir}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
if (result.status !== 0) process.exit(result.status ?? 1);
