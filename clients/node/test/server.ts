// Starts a real ggufd on 127.0.0.1 (port 0) for the end-to-end tests and
// stops it again; paths come from GGUFD_BIN and GGUFD_MODELS_DIR.
import { type ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import * as readline from 'node:readline';

const REPO_ROOT = path.resolve(__dirname, '../../../..');

export const GGUFD_BIN = process.env.GGUFD_BIN ?? path.join(REPO_ROOT, 'build/service/ggufd');
export const GGUFCTL_BIN = process.env.GGUFCTL_BIN ?? path.join(REPO_ROOT, 'build/clients/cpp/ggufctl');
export const MODELS_DIR = process.env.GGUFD_MODELS_DIR ?? path.join(REPO_ROOT, 'models');
export const MODEL_FILE = 'SmolLM2-135M-Instruct.Q4_1.gguf';

const LOG_LINES = 1000;

export class Server {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The /metrics port on 127.0.0.1; -1 unless started with `--metrics-port`. */
    readonly metricsPort: number,
    /** The server's last log lines, for failure messages. */
    readonly log: string[],
  ) {}

  /**
   * The value of one Prometheus sample on /metrics, e.g.
   * `metric('ggufd_limit_rejections_total{limit="message_bytes"}')`; 0 when
   * the server has not exported it yet (counters appear on first use).
   */
  async metric(sample: string): Promise<number> {
    if (this.metricsPort < 0) throw new Error('ggufd was started without --metrics-port');
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: this.metricsPort, path: '/metrics' }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () =>
            response.statusCode === 200 ? resolve(text) : reject(new Error(`/metrics: ${response.statusCode}`)),
          );
        })
        .on('error', reject);
    });
    const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
    return line === undefined ? 0 : Number(line.slice(sample.length + 1));
  }

  /** How many of the retained log lines contain `text`. */
  countLogLines(text: string): number {
    return this.log.filter((line) => line.includes(text)).length;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * Starts ggufd without a model (the tests load it, or pass `--model`) and
   * waits for its port; `extraArgs` go at the end of its command line (e.g.
   * ['--state-dir', dir], or TLS and auth flags). /metrics is off unless they
   * set `--metrics-port` (0 = any free port).
   */
  static start(extraArgs: string[] = []): Promise<Server> {
    const args = [
      'serve',
      '--listen',
      '127.0.0.1:0',
      ...(extraArgs.includes('--metrics-port') ? [] : ['--metrics-port', '-1']),
      '--model-dir',
      MODELS_DIR,
      '--threads',
      '1',
      '--queue-capacity',
      '1',
      '--enable-test-hooks',
      ...extraArgs,
    ];
    const child = spawn(GGUFD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // Whatever happens to the test process, the server goes with it.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    const log: string[] = [];
    let server: Server | undefined;
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        if (server) return;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${error.message}\n${log.join('\n')}`));
      };
      const timer = setTimeout(() => fail(new Error('ggufd did not log "listening" within 30 s')), 30_000);
      child.once('error', fail);
      child.once('exit', (code, signal) => fail(new Error(`ggufd exited early (${code ?? signal})`)));
      // Read stderr to the end, so the server never blocks on a full pipe.
      readline.createInterface({ input: child.stderr! }).on('line', (line) => {
        log.push(line);
        if (log.length > LOG_LINES) log.shift();
        if (server) return;
        let entry: { msg?: string; port?: number; metrics_port?: number };
        try {
          entry = JSON.parse(line);
        } catch {
          return;
        }
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          server = new Server(child, entry.port, entry.metrics_port ?? -1, log);
          resolve(server);
        }
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
