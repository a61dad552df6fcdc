import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real `laurel serve` in a child process (through tsx, no build needed), as production runs
 * it: its own event loop, its own pool, its own scheduler. The load benchmark runs one or two of
 * them; the crash and fault suites kill and restart them.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerProcessOptions {
  databaseUrl: string;
  adminKey: string;
  /** 0 (default): any free port, read back from the start-up banner */
  port?: number;
  /** more environment (LAUREL_SCHEDULER, LAUREL_RATE_LIMIT_PER_SECOND, …) */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** everything the process wrote so far (stdout and stderr) */
  output(): string;
  /** SIGKILL: no shutdown handler runs, in-flight transactions die with their connections */
  kill9(): Promise<void>;
  /** SIGTERM: the graceful shutdown `serve` installs */
  stop(): Promise<void>;
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export async function startServer(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: options.databaseUrl,
      LAUREL_ADMIN_KEY: options.adminKey,
      PORT: String(options.port ?? 0),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = exitOf(child);
  // A parent that ends (or is interrupted) takes its servers with it: no orphan keeps serving.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  void exited.then(() => process.off('exit', orphanGuard));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`laurel serve did not start within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`));
    }, options.startTimeoutMs ?? 60_000);
    const poll = setInterval(() => {
      const m = /health:\s+http:\/\/[^:\s]+:(\d+)\/health/.exec(output);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    }, 25);
    void exited.then(() => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`laurel serve exited during start-up (${child.exitCode ?? child.signalCode}):\n${output}`));
    });
  });

  return {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
