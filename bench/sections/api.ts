/**
 * 6. API latency: `POST /token-requests` at a fixed concurrency against the local runtime, and the same load
 * (same client, same bodies) against a bare Node HTTP server in a child process on the same machine, run before
 * and after it. The ratio of the two is the figure; the absolute latencies are this machine's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { LocalRuntime } from '../../local/driver';
import { requestBody } from '../../local/driver';
import { SEED } from '../lib/local';
import { row, type SectionResult } from '../lib/report';
import { figure, median, round, single } from '../lib/stats';

export interface ApiOptions {
  rt: LocalRuntime;
  requests: number;
  concurrency: number;
  /** Requests sent one at a time first (service time without queueing). */
  sequential: number;
  log: (line: string) => void;
}

interface LoadResult {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
  wallMs: number;
}

/** `total` POSTs of `body(i)` to `url`, `concurrency` at a time over keep-alive connections. */
async function load(
  url: string,
  headers: (i: number) => Record<string, string>,
  total: number,
  concurrency: number,
  body: (i: number) => string,
  expect: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const payload = body(i);
      const started = performance.now();
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { ...headers(i), 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - started);
            const key = String(res.statusCode);
            statuses[key] = (statuses[key] ?? 0) + 1;
            if (res.statusCode !== expect) errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
      req.end(payload);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
  agent.destroy();
  return { latencies, errors, statuses, wallMs: performance.now() - started };
}

/** A bare Node HTTP server (child process): reads the JSON body and answers 202 with it and an id. */
function startBareServer(): Promise<{ url: string; child: ChildProcess }> {
  const code = `
    const http = require('node:http');
    const { randomUUID } = require('node:crypto');
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const text = JSON.stringify({ requestId: 'req_' + randomUUID(), status: 'PENDING_APPROVAL', ...body });
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout?.once('data', (chunk: Buffer) =>
      resolve({ url: `http://127.0.0.1:${chunk.toString().trim()}/token-requests`, child }),
    );
    child.once('error', reject);
  });
}

/** Size of one of the runtime's JSON stores, MB (0 when absent). */
function storeMb(rt: LocalRuntime, file: string): number {
  const path = join(rt.dataDir, file);
  return existsSync(path) ? statSync(path).size / 1e6 : 0;
}

export async function runApi(opts: ApiOptions): Promise<SectionResult> {
  const { rt } = opts;
  // Each member may have only `maxPendingRequestsPerMember` requests pending (5 by default): the load comes from
  // enough members to stay within it, each sending consecutive requests.
  const requestsInAll = 2 * opts.concurrency + opts.sequential + 2 * opts.requests;
  const perMember = 5;
  const tokens: string[] = [];
  for (let m = 0; m < Math.ceil(requestsInAll / perMember) + 1; m++) {
    tokens.push(await rt.memberToken(m === 0 ? SEED.bob : `bench-member-${m}@example.com`));
  }
  const run = Date.now().toString(36);
  let sent = 0;
  const headers = () => ({ authorization: `Bearer ${tokens[Math.floor(sent++ / perMember)] ?? tokens[0]}` });
  let seq = 0;
  const body = () => JSON.stringify(requestBody(`bench-api-${run}-${seq++}`));
  const bare = await startBareServer();
  try {
    const runtimeUrl = `${rt.urls.api}/token-requests`;
    // Warm-up (unmeasured): connections, and every sandbox of the function.
    await load(bare.url, headers, opts.concurrency, opts.concurrency, body, 202);
    await load(runtimeUrl, headers, opts.concurrency, opts.concurrency, body, 202);

    const alone = await load(runtimeUrl, headers, opts.sequential, 1, body, 202);
    const half = Math.ceil(opts.requests / 2);
    const baseA = await load(bare.url, headers, half, opts.concurrency, body, 202);
    const local = await load(runtimeUrl, headers, opts.requests, opts.concurrency, body, 202);
    opts.log(
      `  runtime: ${opts.requests} requests in ${Math.round(local.wallMs)} ms, statuses ${JSON.stringify(local.statuses)}`,
    );
    const baseB = await load(bare.url, headers, opts.requests - half, opts.concurrency, body, 202);
    const baseline = [...baseA.latencies, ...baseB.latencies];

    const lf = figure(local.latencies, 'ms', true);
    // In completion order: does latency grow as the runtime's stores fill up?
    const tenth = Math.max(1, Math.floor(local.latencies.length / 10));
    const firstTenth = figure(local.latencies.slice(0, tenth), 'ms');
    const lastTenth = figure(local.latencies.slice(-tenth), 'ms');
    const bf = figure(baseline, 'ms', true);
    const p50 = lf.median / bf.median;
    const p99 = (lf.p99 ?? Number.NaN) / (bf.p99 ?? Number.NaN);
    return {
      id: 'api',
      title: `API latency: POST /token-requests, ${opts.requests} requests at concurrency ${opts.concurrency}`,
      rows: [
        row('local runtime p50', lf),
        row('local runtime p99', { ...lf, median: lf.p99 ?? Number.NaN }),
        row('bare Node HTTP server p50', bf),
        row('bare Node HTTP server p99', { ...bf, median: bf.p99 ?? Number.NaN }),
        row('p50 ratio (runtime / bare)', single(p50, 'x')),
        row('p99 ratio (runtime / bare)', single(p99, 'x')),
        row('  runtime p50, first tenth of the requests', firstTenth),
        row('  runtime p50, last tenth of the requests', lastTenth),
        row('runtime latency at concurrency 1 (service time)', figure(alone.latencies, 'ms')),
        row('runtime throughput', single((local.latencies.length / local.wallMs) * 1000, 'req/s')),
        row('runtime non-202 answers', single(local.errors, 'requests')),
      ],
      notes: [
        `At concurrency ${opts.concurrency} the runtime's latency is mostly queueing: latency ~ concurrency / throughput (${round((local.latencies.length / local.wallMs) * 1000, 1)} req/s), against ${round(median(alone.latencies), 0)} ms for one request alone. The local runtime runs at most 4 sandboxes per function and one Node process for every emulator; API Gateway + Lambda would scale out instead.`,
        `The median grows from ${round(firstTenth.median, 0)} ms over the first tenth of the requests to ${round(lastTenth.median, 0)} ms over the last as the runtime's stores grow: every accepted request adds an execution to the Step Functions emulator (its executions file, appended to change by change, is ${round(storeMb(rt, 'stepfunctions.json'), 1)} MB at the end) and two emails to the mail store (${round(storeMb(rt, 'mail.json'), 1)} MB).`,
        'Each accepted request also starts an issuance execution, whose approval emails are sent while the load runs: the runtime serves the API with that background work on the same machine, as it would.',
        'In the p99 rows the median column holds the p99; min/max are of all samples.',
        'The local runtime is one Node process (API Gateway emulation, JWT check, Lambda sandboxes as worker threads, DynamoDB/Step Functions/SES emulators persisting JSON); the figure compares it with the cheapest possible Node HTTP answer, not with API Gateway + Lambda on AWS.',
      ],
      details: {
        runtime: { statuses: local.statuses, wallMs: local.wallMs },
        baseline: { wallMs: baseA.wallMs + baseB.wallMs },
      },
    };
  } finally {
    bare.child.kill();
  }
}
