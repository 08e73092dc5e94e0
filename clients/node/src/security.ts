// TLS (and mTLS) channel credentials and the bearer token that ggufd's auth
// file checks. The token goes out as per-call metadata from a client
// interceptor rather than as grpc-js call credentials: grpc-js refuses call
// credentials on an insecure channel, and ggufd accepts a token over
// plaintext on loopback, so the one mechanism has to work on both.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/** How the client verifies the server (and proves itself with mTLS); the options of ggufctl's --tls-* flags. */
export interface TlsOptions {
  /** PEM CA bundle that verifies the server's certificate (default: Node's bundled roots). */
  ca?: string | Buffer;
  /** A file holding `ca` (ggufctl --tls-ca). */
  caFile?: string;
  /** PEM client certificate chain for mTLS; needs `key` or `keyFile`. */
  cert?: string | Buffer;
  /** A file holding `cert` (ggufctl --tls-cert). */
  certFile?: string;
  /** PEM private key of the client certificate. */
  key?: string | Buffer;
  /** A file holding `key` (ggufctl --tls-key). */
  keyFile?: string;
  /**
   * Verify the server's certificate for this name instead of the address's
   * host (also sent as SNI and :authority), e.g. 'localhost' when dialling
   * 127.0.0.1 (ggufctl --tls-server-name).
   */
  serverName?: string;
}

/** A bearer token, or a function giving the current one (called for every call, so it may rotate). */
export type TokenSource = string | (() => string | Promise<string>);

/** PEM from exactly one of an inline value and a file; undefined when neither is set. */
function pem(name: string, inline: string | Buffer | undefined, file: string | undefined): Buffer | undefined {
  if (inline !== undefined && file !== undefined) throw new Error(`tls: set ${name} or ${name}File, not both`);
  if (file !== undefined) return readFileSync(file);
  return inline === undefined ? undefined : Buffer.from(inline);
}

/** The channel credentials for `tls`: insecure (plaintext) when it is unset or false. */
export function channelCredentials(tls: boolean | TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const options = tls === true ? {} : tls;
  const ca = pem('ca', options.ca, options.caFile);
  const cert = pem('cert', options.cert, options.certFile);
  const key = pem('key', options.key, options.keyFile);
  // Either alone would silently connect without a client certificate.
  if ((cert === undefined) !== (key === undefined))
    throw new Error('tls: a client cert needs its key, and a key its cert');
  return grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
}

/** Channel options that make the TLS handshake check `serverName` (and send it as the authority). */
export function serverNameOptions(tls: boolean | TlsOptions | undefined): grpc.ChannelOptions {
  const serverName = typeof tls === 'object' ? tls.serverName : undefined;
  if (!serverName) return {};
  return { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName };
}

/** The first line of a token file, as ggufctl --token-file reads it. */
export function readTokenFile(file: string): string {
  const token = readFileSync(file, 'utf8').split('\n')[0].replace(/\r$/, '');
  if (!token) throw new Error(`token file ${file} is empty`);
  return token;
}

/**
 * A client interceptor that adds `authorization: Bearer <token>` to every
 * call's metadata, unless the call already sets `authorization` itself. A
 * token function that throws or rejects fails the call with UNAUTHENTICATED
 * before anything is sent.
 */
export function bearerTokenInterceptor(source: TokenSource): grpc.Interceptor {
  const current = typeof source === 'string' ? () => source : source;
  return (options, nextCall) => {
    const call: grpc.InterceptingCall = new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (metadata.get('authorization').length > 0) {
          next(metadata, listener);
          return;
        }
        let token: string | Promise<string>;
        try {
          token = current();
        } catch (error) {
          token = Promise.reject(error);
        }
        if (typeof token === 'string') {
          metadata.set('authorization', `Bearer ${token}`);
          next(metadata, listener);
          return;
        }
        // grpc-js holds the request message until next() runs.
        token.then(
          (value) => {
            metadata.set('authorization', `Bearer ${value}`);
            next(metadata, listener);
          },
          (error: unknown) => {
            next(metadata, listener);
            call.cancelWithStatus(
              grpc.status.UNAUTHENTICATED,
              `the token source failed: ${error instanceof Error ? error.message : String(error)}`,
            );
          },
        );
      },
    });
    return call;
  };
}
