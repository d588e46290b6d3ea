/**
 * Starts a real Packhouse process (`node bin/packhouse.js serve`) on a free port for a test,
 * with its own data directory, and hands back clients pointed at it. Nothing is mocked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';

/** The repository root (this file runs from dist/test/support/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(ROOT, 'bin', 'packhouse.js');

export const LOCAL_KEYS = { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' };
export const LOCAL_ACCOUNT = '000000000000';

export interface TestServer {
  readonly url: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Lines the server logged (JSON). */
  readonly logs: string[];
  client(options?: { region?: string; accessKeyId?: string; secretAccessKey?: string }): MediaPackageV2Client;
  /** Graceful stop (SIGTERM), waiting for exit. */
  stop(): Promise<void>;
  /** kill -9, waiting for exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Keep the data directory after stop (for restart tests); default false. */
  readonly keepData?: boolean;
}

export function tempDir(prefix = 'packhouse-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--s3-port', '0', '--data-dir', dataDir, '--log-level', 'info', ...(options.args ?? [])], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(options.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`server did not start within 15 s\n${stderr}\n${logs.join('\n')}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'packhouse listening' && entry.url) {
            clearTimeout(timer);
            resolveUrl(entry.url);
          }
        } catch {
          // not JSON: keep it in logs
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening\n${stderr}`));
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const finish = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    url,
    dataDir,
    process: child,
    logs,
    client: (o = {}) =>
      new MediaPackageV2Client({
        endpoint: url,
        region: o.region ?? 'us-east-1',
        credentials: { accessKeyId: o.accessKeyId ?? LOCAL_KEYS.accessKeyId, secretAccessKey: o.secretAccessKey ?? LOCAL_KEYS.secretAccessKey },
        maxAttempts: 1,
      }),
    stop: () => finish('SIGTERM'),
    kill: () => finish('SIGKILL'),
  };
}

/** Runs the configuration and expects the process to refuse to start; returns its stderr. */
export async function startExpectingFailure(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stderr };
}
