/** Small HTTP servers for the Atlassian adapter tests: scripted answers and a recording proxy. */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a test server saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Running {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Listens on a free port of 127.0.0.1. */
export async function listenOn(listener: RequestListener): Promise<Running> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** One scripted answer. */
export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  /** Sent as it is (strings) so tests can send HTML or truncated JSON. */
  body?: string;
}

/**
 * A server that answers from a script, one entry per request (the last entry repeats), and records requests.
 */
export async function scriptedServer(script: Scripted[]): Promise<Running & { seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const running = await listenOn(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    const answer = script[Math.min(seen.length - 1, script.length - 1)] ?? { status: 500 };
    res.writeHead(answer.status, answer.headers ?? {});
    res.end(answer.body ?? '');
  });
  return { ...running, seen };
}

/** A proxy that records every request and forwards it to `target` (e.g. the fake Atlassian). */
export async function recordingProxy(target: string): Promise<Running & { seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const running = await listenOn(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
    }
    const init: RequestInit = { method: req.method ?? 'GET', headers };
    if (body !== '') init.body = body;
    const answer = await fetch(`${target}${req.url ?? '/'}`, init);
    const text = await answer.text();
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!['content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) out[name] = value;
    });
    res.writeHead(answer.status, out);
    res.end(text);
  });
  return { ...running, seen };
}
