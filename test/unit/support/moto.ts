/** What the emulator contract suites share: finding a command, a free port, and a moto_server for the run. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The path of `name` on PATH, or undefined when it is not installed. */
export function commandPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A TCP port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `motoServer` before the enclosing describe's tests and stops it after them; resolves each test's endpoint
 * through the returned getter.
 */
export function useMotoServer(motoServer: string): () => string {
  let moto: ChildProcess | undefined;
  let endpoint = '';

  beforeAll(async () => {
    const port = await freePort();
    // Its own process group, so stopping it also stops anything a wrapper script started.
    moto = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', detached: true });
    endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const ready = await fetch(`${endpoint}/moto-api/`);
        if (ready.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('moto_server did not start within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 40_000);

  afterAll(async () => {
    const child = moto;
    if (!child?.pid || child.exitCode !== null) return;
    const pid = child.pid;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      process.kill(-pid, 'SIGTERM');
    });
  });

  return () => endpoint;
}
