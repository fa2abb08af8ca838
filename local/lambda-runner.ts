/**
 * Runs the bundled Lambda handlers that `cdk synth` produced (`cdk.out/asset.<hash>/index.js`), each function in
 * its own sandboxes: worker threads started with exactly that function's environment, kept warm between
 * invocations, one invocation at a time per sandbox (as one Lambda execution environment), up to
 * `maxConcurrency` sandboxes per function.
 *
 * Inside a sandbox `Date` follows the simulated clock; the main thread's `Date` is untouched.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { transformSync } from 'esbuild';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/protocol';
import type { InvokeMessage, SandboxInit, SandboxMessage } from './lambda-worker';

/** One function of the synthesized template, as the local runtime runs it. */
/** Every sandbox signs its AWS calls with an access key id of its own that starts with this. */
export const SANDBOX_ACCESS_KEY_PREFIX = 'LOCALSANDBOX';

export interface LocalFunction {
  /** The function's logical id in the template. */
  logicalId: string;
  /** The local function name (what `invoke` is called with). */
  functionName: string;
  /** Absolute path of the bundled asset directory (`cdk.out/asset.<hash>`). */
  assetDir: string;
  /** Lambda's handler string, e.g. `index.handler`. */
  handler: string;
  /** The function's environment from the template, with references resolved to local names. */
  env: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
}

/** One finished invocation, for the call log. */
export interface InvocationRecord {
  functionName: string;
  durationMs: number;
  memoryMb: number;
  /** Lambda's errorType when the invocation failed. */
  error?: string;
  executionId?: string;
}

/** Options of {@link LambdaRunner}. */
export interface LambdaRunnerOptions {
  functions: LocalFunction[];
  /** Simulated clock minus wall clock in ms; read at each invocation. */
  clockOffsetMs: () => number;
  /** Receives every line a sandbox writes to stdout or stderr (Powertools' JSON log lines among them). */
  onLog?: (functionName: string, line: string) => void;
  onInvoke?: (record: InvocationRecord) => void;
  /** Becomes `AWS_ENDPOINT_URL` in every sandbox. */
  awsEndpointUrl?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default { accessKeyId: 'test', secretAccessKey: 'test' } */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Sandboxes per function (Lambda's concurrent execution environments). @default 4 */
  maxConcurrency?: number;
}

/**
 * A failed invocation: `name` is Lambda's `errorType` (the handler error's `name`, or `Sandbox.Timedout`,
 * `Runtime.ExitError`, …) and `message` its `errorMessage`. Stacks never cross the sandbox boundary.
 */
export class LambdaInvocationError extends Error {
  constructor(errorType: string, errorMessage: string) {
    super(errorMessage);
    this.name = errorType;
    // The main thread's stack says nothing about the handler; keep the error as Lambda reports it.
    this.stack = `${errorType}: ${errorMessage}`;
  }
}

/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Invokes the local functions, each in its own pool of warm sandboxes. */
export class LambdaRunner {
  private readonly pools = new Map<string, Pool>();
  /** Which execution each sandbox (known by its own access key id) is running for, while it runs. */
  private readonly executionByAccessKey = new Map<string, string>();
  private sandboxSerial = 0;
  private readonly byAlias = new Map<string, Pool>();
  private readonly maxConcurrency: number;
  private closed = false;

  constructor(private readonly opts: LambdaRunnerOptions) {
    this.maxConcurrency = Math.max(1, opts.maxConcurrency ?? 4);
    for (const fn of opts.functions) {
      if (this.pools.has(fn.functionName)) throw new Error(`Duplicate local function name: ${fn.functionName}`);
      const pool: Pool = { fn, env: this.environmentOf(fn), idle: [], all: new Set(), waiters: [] };
      this.pools.set(fn.functionName, pool);
      this.byAlias.set(fn.logicalId, pool);
    }
  }

  /** The names of the functions this runner knows. */
  get functionNames(): string[] {
    return [...this.pools.keys()];
  }

  /**
   * Invokes a function synchronously (RequestResponse) and resolves with the handler's result, JSON
   * round-tripped as Lambda does. `functionName` may be the function name, its logical id, or its ARN.
   * Rejects with a {@link LambdaInvocationError}.
   */
  async invoke(functionName: string, event: unknown, meta: { executionId?: string } = {}): Promise<unknown> {
    if (this.closed) throw new LambdaInvocationError('ServiceException', 'The local Lambda runner is closed');
    const pool = this.poolOf(functionName);
    if (!pool) {
      throw new LambdaInvocationError('ResourceNotFoundException', `Function not found: ${functionName}`);
    }
    const payload = JSON.stringify(event === undefined ? null : event);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      throw new LambdaInvocationError(
        'RequestEntityTooLargeException',
        `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      );
    }
    const started = performance.now();
    let errorType: string | undefined;
    try {
      const sandbox = await this.acquire(pool);
      if (meta.executionId) this.executionByAccessKey.set(sandbox.accessKeyId, meta.executionId);
      try {
        const result = await sandbox.run(payload, this.opts.clockOffsetMs());
        return JSON.parse(result) as unknown;
      } finally {
        this.executionByAccessKey.delete(sandbox.accessKeyId);
        this.release(pool, sandbox);
      }
    } catch (error) {
      errorType = error instanceof Error ? error.name : 'Error';
      throw error;
    } finally {
      this.opts.onInvoke?.({
        functionName: pool.fn.functionName,
        durationMs: Math.round(performance.now() - started),
        memoryMb: pool.fn.memoryMb,
        ...(errorType ? { error: errorType } : {}),
        ...(meta.executionId ? { executionId: meta.executionId } : {}),
      });
    }
  }

  /**
   * The workflow execution a sandbox is invoking for, by the access key id its AWS SDK signs with (every sandbox
   * gets its own), so the AWS endpoint can attribute calls in the call log.
   */
  executionIdOfAccessKey(accessKeyId: string): string | undefined {
    return this.executionByAccessKey.get(accessKeyId);
  }

  /** Stops every sandbox; invocations still queued are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping: Promise<unknown>[] = [];
    for (const pool of this.pools.values()) {
      for (const waiter of pool.waiters.splice(0))
        waiter.reject(new LambdaInvocationError('ServiceException', 'The local Lambda runner is closed'));
      for (const sandbox of pool.all) stopping.push(sandbox.stop());
      pool.all.clear();
      pool.idle.length = 0;
    }
    await Promise.all(stopping);
  }

  private poolOf(name: string): Pool | undefined {
    // Step Functions and the SDK pass ARNs (optionally with a version or alias suffix).
    const arn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:.+)?$/.exec(name);
    const key = arn?.[1] ?? name;
    return this.pools.get(key) ?? this.byAlias.get(key);
  }

  private environmentOf(fn: LocalFunction): Record<string, string> {
    const region = this.opts.region ?? LOCAL_REGION;
    const credentials = this.opts.credentials ?? { accessKeyId: 'test', secretAccessKey: 'test' };
    return {
      ...fn.env,
      // Lambda's reserved variables: the template cannot override them.
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(this.opts.awsEndpointUrl ? { AWS_ENDPOINT_URL: this.opts.awsEndpointUrl } : {}),
      LAMBDA_TASK_ROOT: fn.assetDir,
      AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      _HANDLER: fn.handler,
    };
  }

  private acquire(pool: Pool): Promise<Sandbox> {
    const idle = pool.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (pool.all.size < this.maxConcurrency) return Promise.resolve(this.spawn(pool));
    return new Promise((resolve, reject) => pool.waiters.push({ resolve, reject }));
  }

  private release(pool: Pool, sandbox: Sandbox): void {
    if (this.closed) return;
    if (sandbox.dead) {
      pool.all.delete(sandbox);
      const waiter = pool.waiters.shift();
      if (waiter) waiter.resolve(this.spawn(pool));
      return;
    }
    const waiter = pool.waiters.shift();
    if (waiter) waiter.resolve(sandbox);
    else pool.idle.push(sandbox);
  }

  private spawn(pool: Pool): Sandbox {
    const accessKeyId = `${SANDBOX_ACCESS_KEY_PREFIX}${String(++this.sandboxSerial).padStart(8, '0')}`;
    const env = { ...pool.env, AWS_ACCESS_KEY_ID: accessKeyId };
    const sandbox = new Sandbox(pool.fn, env, this.opts.onLog, (dead) => {
      // A sandbox that crashed while idle must not be handed out again.
      pool.all.delete(dead);
      const i = pool.idle.indexOf(dead);
      if (i >= 0) pool.idle.splice(i, 1);
    });
    pool.all.add(sandbox);
    return sandbox;
  }
}

interface Pool {
  fn: LocalFunction;
  env: Record<string, string>;
  idle: Sandbox[];
  all: Set<Sandbox>;
  waiters: Array<{ resolve: (sandbox: Sandbox) => void; reject: (error: Error) => void }>;
}

interface Pending {
  id: number;
  requestId: string;
  resolve: (payload: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  outcome?: SandboxMessage;
  flushed: number;
}

/** One execution environment: a worker thread running `lambda-worker.ts` for one function. */
class Sandbox {
  dead = false;
  private readonly worker: Worker;
  private readonly flushMarker = `\u0000token-warden-flush:${randomBytes(6).toString('hex')}:`;
  private readonly buffers = { stdout: '', stderr: '' };
  private pending: Pending | undefined;
  private nextId = 1;

  readonly accessKeyId: string;

  constructor(
    private readonly fn: LocalFunction,
    env: Record<string, string>,
    private readonly onLog: ((functionName: string, line: string) => void) | undefined,
    private readonly onDead: (sandbox: Sandbox) => void,
  ) {
    this.accessKeyId = env.AWS_ACCESS_KEY_ID ?? '';
    const now = new Date();
    const day = now.toISOString().slice(0, 10).replace(/-/g, '/');
    const logStreamName = `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
    const init: SandboxInit = {
      kind: 'token-warden-lambda-sandbox',
      functionName: fn.functionName,
      assetDir: fn.assetDir,
      handler: fn.handler,
      memoryMb: fn.memoryMb,
      invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION ?? LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${fn.functionName}`,
      logGroupName: `/aws/lambda/${fn.functionName}`,
      logStreamName,
      flushMarker: this.flushMarker,
    };
    const entry = workerEntry();
    this.worker = new Worker(entry.source, {
      eval: entry.eval,
      workerData: init,
      env: { ...env, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      // The parent's loaders (e.g. tsx) must not reach into the sandbox: bundles run on plain Node.
      execArgv: [],
      stdout: true,
      stderr: true,
      name: `lambda:${fn.functionName}`,
    });
    // Idle sandboxes must not keep the process alive; a running invocation's timeout timer does.
    this.worker.unref();
    this.worker.stdout.setEncoding('utf8').on('data', (chunk: string) => this.onOutput('stdout', chunk));
    this.worker.stderr.setEncoding('utf8').on('data', (chunk: string) => this.onOutput('stderr', chunk));
    this.worker.on('message', (message: SandboxMessage) => this.onMessage(message));
    this.worker.on('error', (error) => {
      // Errors Node raises for the thread itself (e.g. out of memory); the exit handler settles the invocation.
      this.log(`Runtime error: ${error.name}: ${error.message}`);
    });
    this.worker.on('exit', (code) => this.onExit(code));
  }

  run(payload: string, clockOffsetMs: number): Promise<string> {
    if (this.dead) return Promise.reject(new LambdaInvocationError('Runtime.ExitError', 'The sandbox has exited'));
    const id = this.nextId++;
    const requestId = randomUUID();
    const timeoutMs = Math.max(1, this.fn.timeoutSeconds) * 1000;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.onTimeout(), timeoutMs);
      this.pending = { id, requestId, resolve, reject, timer, flushed: 0 };
      const message: InvokeMessage = {
        type: 'invoke',
        id,
        requestId,
        payload,
        clockOffsetMs,
        deadlineMs: Date.now() + timeoutMs,
      };
      this.worker.postMessage(message);
    });
  }

  async stop(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }

  private onMessage(message: SandboxMessage): void {
    const pending = this.pending;
    if (!pending || message.id !== pending.id) return;
    pending.outcome = message;
    if (message.type === 'error' && message.fatal) {
      // The environment is discarded: settle now, whatever log lines are still in flight.
      this.settle();
      this.dead = true;
      void this.worker.terminate();
      return;
    }
    if (pending.flushed >= 2) this.settle();
  }

  private onOutput(stream: 'stdout' | 'stderr', chunk: string): void {
    this.buffers[stream] += chunk;
    let newline = this.buffers[stream].indexOf('\n');
    while (newline >= 0) {
      const line = this.buffers[stream].slice(0, newline);
      this.buffers[stream] = this.buffers[stream].slice(newline + 1);
      this.onLine(line);
      newline = this.buffers[stream].indexOf('\n');
    }
  }

  private onLine(line: string): void {
    const at = line.indexOf(this.flushMarker);
    if (at < 0) {
      this.log(line);
      return;
    }
    // A handler's unterminated output may precede the marker on the same line.
    if (at > 0) this.log(line.slice(0, at));
    const id = Number(line.slice(at + this.flushMarker.length));
    const pending = this.pending;
    if (!pending || pending.id !== id) return;
    pending.flushed += 1;
    if (pending.flushed >= 2 && pending.outcome) this.settle();
  }

  private log(line: string): void {
    if (this.onLog) this.onLog(this.fn.functionName, line);
    else process.stdout.write(`[${this.fn.functionName}] ${line}\n`);
  }

  private settle(): void {
    const pending = this.pending;
    const outcome = pending?.outcome;
    if (!pending || !outcome) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    if (outcome.type === 'result') pending.resolve(outcome.payload);
    else pending.reject(new LambdaInvocationError(outcome.errorType, outcome.errorMessage));
  }

  private onTimeout(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.dead = true;
    const message = `${new Date().toISOString()} ${pending.requestId} Task timed out after ${this.fn.timeoutSeconds.toFixed(2)} seconds`;
    this.log(message);
    void this.worker.terminate();
    pending.reject(new LambdaInvocationError('Sandbox.Timedout', message));
  }

  private onExit(code: number): void {
    this.dead = true;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.buffers[stream]) this.onLine(this.buffers[stream]);
      this.buffers[stream] = '';
    }
    const pending = this.pending;
    if (pending) {
      if (pending.outcome) {
        this.settle();
      } else {
        this.pending = undefined;
        clearTimeout(pending.timer);
        const message = `RequestId: ${pending.requestId} Error: Runtime exited with error: exit status ${code}`;
        this.log(message);
        pending.reject(new LambdaInvocationError('Runtime.ExitError', message));
      }
    }
    this.onDead(this);
  }
}

let cachedEntry: { source: string; eval: boolean } | undefined;

/**
 * The sandbox bootstrap: a compiled `lambda-worker.js` beside this file if there is one, else
 * `lambda-worker.ts` compiled here once (the runtime itself runs from TypeScript sources).
 */
function workerEntry(): { source: string; eval: boolean } {
  if (cachedEntry) return cachedEntry;
  const compiled = join(__dirname, 'lambda-worker.js');
  if (existsSync(compiled)) {
    cachedEntry = { source: compiled, eval: false };
  } else {
    const sourceFile = join(__dirname, 'lambda-worker.ts');
    const { code } = transformSync(readFileSync(sourceFile, 'utf8'), {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      sourcefile: sourceFile,
    });
    cachedEntry = { source: code, eval: true };
  }
  return cachedEntry;
}
