/**
 * Starts the real local runtime (`npm start`) as a child process and drives it over HTTP, as a user would: the
 * end-to-end tests and the benchmarks use it. Each runtime gets a fresh data dir; synthesizing the CDK app
 * dominates start-up, so runtimes given an assembly cache (`TW_ASSEMBLY_CACHE`, which the test suite's global
 * setup fills) share one synthesis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const PROJECT = resolve(__dirname, '..');
const STARTUP_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;

/** An HTTP answer as the tests see it; `json` is undefined when the body is not JSON. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface ApiOptions {
  token?: string;
  /** An object is sent as JSON; a string is sent as it is (with the content type from `headers`). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One email as the mail server's `GET /store` lists it (aws-ses-v2-local's shape). */
export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  at: string;
}

/** One token as the fake Atlassian's `GET /__control/tokens` lists it (never the value). */
export interface FakeToken {
  id: string;
  label: string;
  accountId: string;
  status: string;
  scopes: string[];
  expiry: string;
}

export interface ApprovalLink {
  to: string;
  link: string;
  email: StoredEmail;
}

/** The parts of the request representation the tests read. */
export interface RequestView {
  requestId: string;
  status: string;
  requester: string;
  reason?: string;
  tokenId?: string;
  secretName?: string;
  secretArn?: string;
  expiresAt?: string;
  approvalsRequired: number;
  approvals: { approver: string; decision: string; decidedAt: string }[];
  [key: string]: unknown;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Ports {
  api: number;
  aws: number;
  atlassian: number;
  mail: number;
}

/** A port nobody listens on right now (the runtime binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

// A crashed test run must not leave runtimes behind holding ports and worker processes.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns something other than `undefined`/`false`, and returns that. Workflow progress is
 * asynchronous after the HTTP call that starts it, so tests wait on observable state, never on fixed sleeps.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(200);
  }
}

/** The bare absolute URL lines of a text body. */
export function linkLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => /^https?:\/\/\S+$/.test(line));
}

/** The hidden `csrf` field of an approval page, if the page carries a form. */
export function csrfOf(html: string): string | undefined {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1];
}

/** The runtime must see only the flags it is given, not whatever the developer's shell points at. */
function runtimeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (/^(TW_|AWS_ENDPOINT_URL)/.test(key)) delete env[key];
  // The functions log at DEBUG, so the secret scans cover the most verbose logging there is.
  env.TW_LOG_LEVEL = 'DEBUG';
  return env;
}

/** Runs `npm start`'s entry with `args` until it exits (for start-up failures); kills it after `timeoutMs`. */
export function runMain(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts', ...args], {
      cwd: PROJECT,
      env: runtimeEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolveRun({ code, output });
    });
  });
}

export class LocalRuntime {
  readonly dataDir: string;
  /** Everything the runtime printed, across restarts (the secret scan reads it). */
  readonly outputFile: string;
  /** Every response body the tests received from any of the runtime's ports, for the secret scan. */
  readonly received: string[] = [];
  readonly urls: { api: string; aws: string; atlassian: string; mail: string };
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private lastExit: ProcessExit | undefined;

  private constructor(
    readonly ports: Ports,
    dataDir: string,
    private readonly extraArgs: string[] = [],
  ) {
    this.dataDir = dataDir;
    this.outputFile = join(dataDir, 'runtime-output.log');
    this.urls = {
      api: `http://127.0.0.1:${ports.api}`,
      aws: `http://127.0.0.1:${ports.aws}`,
      atlassian: `http://127.0.0.1:${ports.atlassian}`,
      mail: `http://127.0.0.1:${ports.mail}`,
    };
  }

  /**
   * Starts a runtime on free ports with a fresh data dir and waits until `GET /health` is 200. `policy` names
   * another policy file (`--policy`); `assemblyCache` (default: this process's `TW_ASSEMBLY_CACHE`) is the folder
   * of synthesized assemblies to reuse (`--assembly-cache`).
   */
  static async start(label: string, opts: { policy?: string; assemblyCache?: string } = {}): Promise<LocalRuntime> {
    const ports: Ports = {
      api: await freePort(),
      aws: await freePort(),
      atlassian: await freePort(),
      mail: await freePort(),
    };
    const assemblyCache = opts.assemblyCache ?? process.env.TW_ASSEMBLY_CACHE;
    const runtime = new LocalRuntime(ports, mkdtempSync(join(tmpdir(), `token-warden-e2e-${label}-`)), [
      ...(opts.policy ? ['--policy', opts.policy] : []),
      ...(assemblyCache ? ['--assembly-cache', assemblyCache] : []),
    ]);
    await runtime.launch();
    return runtime;
  }

  private async launch(): Promise<void> {
    // Appending keeps the output of every start in one file.
    const out = openSync(this.outputFile, 'a');
    const env = runtimeEnv();
    // `node --import tsx` runs main.ts in this very process (the tsx binary would add a relay process that
    // SIGINT has to pass through).
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/main.ts',
        '--api-port',
        String(this.ports.api),
        '--aws-port',
        String(this.ports.aws),
        '--atlassian-port',
        String(this.ports.atlassian),
        '--mail-port',
        String(this.ports.mail),
        '--data-dir',
        this.dataDir,
        '--quiet',
        ...this.extraArgs,
      ],
      { cwd: PROJECT, env, stdio: ['ignore', out, out] },
    );
    closeSync(out);
    this.child = child;
    live.add(child);
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolveExit) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        exitCode = code ?? (signal ? -1 : null);
        this.lastExit = { code, signal };
        resolveExit();
      });
    });
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (exitCode !== undefined) {
        throw new Error(`the runtime exited (code ${exitCode}) before it was healthy:\n${this.output().slice(-4000)}`);
      }
      try {
        const res = await fetch(`${this.urls.api}/health`);
        await res.text();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `the runtime was not healthy after ${STARTUP_TIMEOUT_MS / 1000} s:\n${this.output().slice(-4000)}`,
        );
      }
      await sleep(250);
    }
  }

  /** What the runtime printed so far. */
  output(): string {
    try {
      return readFileSync(this.outputFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Ctrl-C, as a user stops it; waits for the process to exit and says how it ended. */
  async stop(): Promise<ProcessExit | undefined> {
    const child = this.child;
    if (!child) return undefined;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        this.exited.then(() => true),
        new Promise<false>((r) => {
          timer = setTimeout(() => r(false), STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!stopped) {
        child.kill('SIGKILL');
        await this.exited;
        throw new Error(`the runtime did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGINT`);
      }
    }
    return this.lastExit;
  }

  /**
   * SIGKILL, as a crash or an out-of-memory kill ends it: no shutdown code runs. Waits for the process to exit and
   * says how it ended; `restart()` afterwards starts it again on the same data dir and ports.
   */
  async kill(): Promise<ProcessExit | undefined> {
    const child = this.child;
    if (!child) return undefined;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
    return this.lastExit;
  }

  /**
   * Stops for good and drops the app it synthesized itself, if any (tens of MB per run); the rest of the data dir (output, logs,
   * stores, screenshots) stays for inspection.
   */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(join(this.dataDir, 'cdk.out'), { recursive: true, force: true });
  }

  /** Stops and starts again on the same data dir and ports; resolves with how the stopped process ended. */
  async restart(): Promise<ProcessExit | undefined> {
    const exit = await this.stop();
    await this.launch();
    return exit;
  }

  /** Any HTTP call against the runtime; the answer's body is kept for the secret scan. */
  async http(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
    const res = await fetch(url, { redirect: 'manual', ...init });
    const text = await res.text();
    this.received.push(text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** A call to the HTTP API (`path` starts with `/`). */
  async api(method: string, path: string, opts: ApiOptions = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (typeof opts.body === 'string') body = opts.body;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    return this.http(`${this.urls.api}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  }

  /** A signed access token from the local identity provider (overrides: groups, expiresInSeconds, audience, …). */
  async memberToken(email: string, overrides: Record<string, unknown> = {}): Promise<string> {
    const answer = await this.api('POST', '/local/oidc/token', { body: { email, ...overrides } });
    const token = (answer.json as { access_token?: unknown } | undefined)?.access_token;
    if (answer.status !== 200 || typeof token !== 'string') {
      throw new Error(`POST /local/oidc/token answered ${answer.status}: ${answer.text}`);
    }
    return token;
  }

  /** Every email the mail server holds, oldest first. */
  async emails(): Promise<StoredEmail[]> {
    const answer = await this.http(`${this.urls.mail}/store`);
    if (answer.status !== 200) throw new Error(`GET /store answered ${answer.status}`);
    return (answer.json as { emails: StoredEmail[] }).emails;
  }

  /** The emails that mention `requestId` in their text body. */
  async emailsAbout(requestId: string): Promise<StoredEmail[]> {
    return (await this.emails()).filter((e) => (e.body.text ?? '').includes(requestId));
  }

  /** The approval links emailed for `requestId`: the bare absolute URL lines of each email's text body. */
  async approvalLinks(requestId: string): Promise<ApprovalLink[]> {
    const links: ApprovalLink[] = [];
    for (const email of await this.emailsAbout(requestId)) {
      for (const link of linkLines(email.body.text ?? '')) {
        if (link.includes('/approvals/')) links.push({ to: email.destination.to.join(','), link, email });
      }
    }
    return links;
  }

  /** Waits until `count` approval links for `requestId` were emailed. */
  async waitForApprovalLinks(requestId: string, count: number): Promise<ApprovalLink[]> {
    return waitFor(
      async () => {
        const links = await this.approvalLinks(requestId);
        return links.length >= count ? links : undefined;
      },
      30_000,
      `${count} approval email(s) for ${requestId}`,
    );
  }

  /** Moves the simulated clock; resolves with the runtime's answer (expects 200). */
  async advance(by: { days: number } | { hours: number }): Promise<{ now: string; settled: boolean }> {
    const answer = await this.api('POST', '/local/clock/advance', { body: by });
    if (answer.status !== 200) throw new Error(`POST /local/clock/advance answered ${answer.status}: ${answer.text}`);
    return answer.json as { now: string; settled: boolean };
  }

  /** Every token the fake Atlassian ever minted. */
  async fakeTokens(): Promise<FakeToken[]> {
    const answer = await this.http(`${this.urls.atlassian}/__control/tokens`);
    if (answer.status !== 200) throw new Error(`GET /__control/tokens answered ${answer.status}`);
    return answer.json as FakeToken[];
  }

  /** `GET /token-requests/{id}` as `token`'s holder. */
  async request(token: string, requestId: string): Promise<RequestView> {
    const answer = await this.api('GET', `/token-requests/${requestId}`, { token });
    if (answer.status !== 200) throw new Error(`GET /token-requests/${requestId} answered ${answer.status}`);
    return answer.json as RequestView;
  }

  /** Waits until the request reaches `status` (the workflow runs after the HTTP call that starts it). */
  async waitForStatus(token: string, requestId: string, status: string, timeoutMs = 30_000): Promise<RequestView> {
    let last = '';
    return waitFor(
      async () => {
        const view = await this.request(token, requestId);
        last = view.status;
        return view.status === status ? view : undefined;
      },
      timeoutMs,
      `${requestId} to become ${status}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last status ${last}`);
    });
  }

  /** Opens an approval link (GET) as the approver's browser would. */
  async openLink(link: string): Promise<HttpAnswer> {
    return this.http(link);
  }

  /** Posts the approval form: `decision`, `sig` (from the link) and `csrf` (from the page). */
  async postDecision(link: string, fields: { decision: string; csrf?: string; sig?: string }): Promise<HttpAnswer> {
    const url = new URL(link);
    const form = new URLSearchParams({
      decision: fields.decision,
      sig: fields.sig ?? url.searchParams.get('sig') ?? '',
    });
    if (fields.csrf !== undefined) form.set('csrf', fields.csrf);
    return this.http(`${url.origin}${url.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
  }

  /** Opens the link, then presses a button: what an approver does. Returns the page and the decision answer. */
  async decide(link: string, decision: 'approve' | 'reject'): Promise<{ page: HttpAnswer; answer: HttpAnswer }> {
    const page = await this.openLink(link);
    const csrf = csrfOf(page.text);
    if (page.status !== 200 || !csrf) throw new Error(`the approval page answered ${page.status}:\n${page.text}`);
    return { page, answer: await this.postDecision(link, { decision, csrf }) };
  }
}

/** A token request body for the seeded `jenkins-bot` service account. */
export function requestBody(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    serviceAccount: 'jenkins-bot',
    name,
    scopes: ['read:jira-work', 'read:jira-user'],
    lifetimeDays: 30,
    justification: `Jenkins pipeline ${name} reads Jira issues`,
    ...extra,
  };
}

export const SEED = {
  alice: 'alice@example.com',
  bob: 'bob@example.com',
  approver1: 'approver1@example.com',
  approver2: 'approver2@example.com',
  admin: 'admin@example.com',
  serviceAccountEmail: 'jenkins-bot@serviceaccount.atlassian.com',
  cloudId: '00000000-0000-4000-8000-0000000000c1',
} as const;
