/**
 * Requests a web page in the user's browser can make to a local server, for the tests of the loopback guards:
 * a DNS-rebinding page (its own name in `Host`) and cross-site "simple" POSTs (`text/plain` or form bodies, an
 * `Origin` of another site, no preflight). `fetch` cannot set `Host`, so these go through `node:http`.
 */
import { request } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request to `url` with exactly these headers (`host` included, when given) and body. */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: opts.method ?? 'GET',
        agent: false,
        headers: {
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The `Host` a DNS-rebinding page sends: its own name, with the port the browser connected to. */
export const rebindingHost = (url: string) => `rebind.attacker.example:${new URL(url).port}`;

/** Loopback `Host` forms a local client may send for the server at `url`. */
export const loopbackHosts = (url: string) => {
  const port = new URL(url).port;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LocalHost:${port}`];
};

/** A cross-site `text/plain` POST, as `<form enctype="text/plain">` or `fetch(…, {mode: 'no-cors'})` sends it. */
export const crossSiteTextPost = (url: string, body: string) =>
  rawRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://attacker.example' },
    body,
  });
