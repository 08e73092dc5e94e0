// A throwaway certificate authority for the TLS tests, made with the openssl
// CLI at test time in a temporary folder (nothing secret is checked in): EC
// P-256 keys, a server certificate for localhost and 127.0.0.1, and client
// certificates whose URI SAN is the identity ggufd's `cert:` auth lines name.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface Issued {
  cert: string;
  key: string;
}

export class TestPki {
  /** The folder holding every file; remove() deletes it. */
  readonly dir: string;
  readonly caFile: string;
  private readonly caKey: string;

  constructor(readonly name: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), `ggufd-node-${name}-`));
    this.caFile = path.join(this.dir, 'ca.pem');
    this.caKey = path.join(this.dir, 'ca.key');
    openssl(
      ['req', '-x509', ...EC_KEY, '-nodes', '-days', '2', '-subj', `/CN=${name}-ca`].concat([
        '-keyout',
        this.caKey,
        '-out',
        this.caFile,
      ]),
    );
  }

  /** A server certificate valid for DNS:localhost and IP:127.0.0.1. */
  issueServer(file: string, commonName = 'ggufd-test'): Issued {
    return this.issue(file, commonName, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  }

  /** A client certificate whose identity (URI SAN) is `uri`, e.g. spiffe://test/node. */
  issueClient(file: string, uri: string, commonName = file): Issued {
    return this.issue(file, commonName, `subjectAltName=URI:${uri}\nextendedKeyUsage=clientAuth\n`);
  }

  /** A file's bytes, for the options that take PEM inline. */
  read(file: string): Buffer {
    return readFileSync(file);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private issue(file: string, commonName: string, extensions: string): Issued {
    const prefix = path.join(this.dir, file);
    const out = { cert: `${prefix}.pem`, key: `${prefix}.key` };
    writeFileSync(`${prefix}.ext`, extensions);
    openssl(['req', ...EC_KEY, '-nodes', '-subj', `/CN=${commonName}`, '-keyout', out.key, '-out', `${prefix}.csr`]);
    openssl([
      'x509',
      '-req',
      '-days',
      '2',
      '-in',
      `${prefix}.csr`,
      '-CA',
      this.caFile,
      '-CAkey',
      this.caKey,
      '-CAcreateserial',
      '-CAserial',
      path.join(this.dir, 'ca.srl'),
      '-extfile',
      `${prefix}.ext`,
      '-out',
      out.cert,
    ]);
    return out;
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

function openssl(args: string[]): void {
  // Throws with openssl's own message (is it installed?) when it fails.
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
