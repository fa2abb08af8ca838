/**
 * Bootstrap of one local Lambda sandbox: a worker thread that loads one bundled handler and runs its
 * invocations one at a time, as one Lambda execution environment does.
 *
 * The runner (`lambda-runner.ts`) starts it with the function's own `process.env`, and sends one `invoke`
 * message per invocation. Inside the sandbox `Date` follows the simulated clock: the offset travels with each
 * invocation, so the handlers (which know nothing of the simulated clock) see simulated time.
 *
 * This file only does work inside a worker started by the runner; importing it elsewhere has no effect.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** What the runner hands the sandbox when it starts it (`workerData`). */
export interface SandboxInit {
  kind: 'token-warden-lambda-sandbox';
  functionName: string;
  assetDir: string;
  /** `module.export` as Lambda spells it, e.g. `index.handler`. */
  handler: string;
  memoryMb: number;
  invokedFunctionArn: string;
  logGroupName: string;
  logStreamName: string;
  /** Written once to stdout and once to stderr after each invocation, followed by its id and a newline. */
  flushMarker: string;
}

/** Runner → sandbox. */
export interface InvokeMessage {
  type: 'invoke';
  id: number;
  requestId: string;
  /** The event, JSON-encoded as Lambda transports it. */
  payload: string;
  /** Simulated clock minus wall clock, in ms, read by the runner when it dispatched this invocation. */
  clockOffsetMs: number;
  /** Wall-clock time (ms since the epoch) at which the invocation times out. */
  deadlineMs: number;
}

/** Sandbox → runner. */
export type SandboxMessage =
  | { type: 'result'; id: number; payload: string }
  | { type: 'error'; id: number; errorType: string; errorMessage: string; fatal: boolean };

/** The subset of Lambda's context object the handlers may use. */
export interface SandboxContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
}

type Handler = (
  event: unknown,
  context: SandboxContext,
  callback?: (error?: unknown, result?: unknown) => void,
) => unknown;

/** Lambda's errorType/errorMessage for a thrown value (its Node runtime uses `name`, or `typeof` for non-errors). */
export function describeError(error: unknown): { errorType: string; errorMessage: string } {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as { name?: unknown; message?: unknown };
    return {
      errorType: typeof e.name === 'string' && e.name !== '' ? e.name : 'Error',
      errorMessage: typeof e.message === 'string' ? e.message : String(e.message),
    };
  }
  return { errorType: typeof error, errorMessage: String(error) };
}

class SandboxError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Replaces `globalThis.Date` so that `Date.now()`, `new Date()` and `Date()` read wall time plus the offset.
 *
 * A Proxy rather than a subclass: dates that Node creates internally (e.g. `fs.Stats#mtime`) are plain `Date`
 * instances, and with a Proxy `instanceof Date` still holds for them; everything else (`Date.UTC`,
 * `Date.parse`, dates built from arguments, the prototype) is the original.
 */
export function installSimulatedDate(offsetMs: () => number): () => number {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const simulatedNow = () => realNow() + offsetMs();
  const SimulatedDate: DateConstructor = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [simulatedNow()] : args, newTarget);
    },
    apply() {
      return new RealDate(simulatedNow()).toString();
    },
    get(target, property, receiver) {
      if (property === 'now') return simulatedNow;
      return Reflect.get(target, property, receiver);
    },
  });
  Object.defineProperty(RealDate.prototype, 'constructor', {
    value: SimulatedDate,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  globalThis.Date = SimulatedDate;
  return realNow;
}

function runSandbox(init: SandboxInit, port: NonNullable<typeof parentPort>): void {
  let offsetMs = 0;
  const realNow = installSimulatedDate(() => offsetMs);
  let current: { id: number; requestId: string } | undefined;
  let handler: Handler | undefined;

  if (/(^|\s)--enable-source-maps(\s|$)/.test(process.env.NODE_OPTIONS ?? '')) {
    // NODE_OPTIONS is not applied to worker threads; honour the flag CDK sets for bundles with source maps.
    process.setSourceMapsEnabled(true);
  }
  patchConsole(() => current?.requestId);

  const report = (message: SandboxMessage) => port.postMessage(message);

  // Lambda reports these against the running invocation and then discards the environment.
  const fatal = (errorType: string, error: unknown) => {
    const { errorMessage } = describeError(error);
    process.stderr.write(
      `${new Date().toISOString()}\t${current?.requestId ?? 'undefined'}\tERROR\t${errorType}: ${errorMessage}\n`,
    );
    if (current) report({ type: 'error', id: current.id, errorType, errorMessage, fatal: true });
    process.exit(1);
  };
  process.on('uncaughtException', (error) => fatal(describeError(error).errorType, error));
  process.on('unhandledRejection', (reason) => fatal('Runtime.UnhandledPromiseRejection', reason));

  const flush = (id: number) =>
    Promise.all(
      [process.stdout, process.stderr].map(
        (stream) => new Promise<void>((resolve) => stream.write(`${init.flushMarker}${id}\n`, () => resolve())),
      ),
    );

  port.on('message', async (message: InvokeMessage) => {
    if (message.type !== 'invoke') return;
    current = { id: message.id, requestId: message.requestId };
    offsetMs = message.clockOffsetMs;
    let outcome: SandboxMessage;
    try {
      handler ??= await loadHandler(init);
    } catch (error) {
      // A failed init leaves a half-loaded module behind: like Lambda, start the next invocation afresh.
      await flush(message.id);
      report({ type: 'error', id: message.id, ...describeError(error), fatal: true });
      return;
    }
    try {
      const context = createContext(init, message, realNow);
      const result = await callHandler(handler, JSON.parse(message.payload), context);
      let payload: string;
      try {
        payload = JSON.stringify(result === undefined ? null : result);
      } catch (error) {
        throw new SandboxError(
          'Runtime.MarshalError',
          `Unable to stringify response body: ${describeError(error).errorMessage}`,
        );
      }
      outcome = { type: 'result', id: message.id, payload };
    } catch (error) {
      const { errorType, errorMessage } = describeError(error);
      // The Node.js Lambda runtime logs a failed invocation like this, so the failure is in the function's log.
      process.stderr.write(
        `${new Date().toISOString()}\t${current?.requestId ?? 'undefined'}\tERROR\tInvoke Error \t${JSON.stringify({ errorType, errorMessage })}\n`,
      );
      outcome = { type: 'error', id: message.id, errorType, errorMessage, fatal: false };
    }
    await flush(message.id);
    current = undefined;
    report(outcome);
  });
}

async function loadHandler(init: SandboxInit): Promise<Handler> {
  // Lambda's rule: the module path runs to the first dot after the last slash; the rest names the export.
  const slash = init.handler.lastIndexOf('/');
  const dot = init.handler.indexOf('.', slash + 1);
  if (dot < 0) throw new SandboxError('Runtime.MalformedHandlerName', `Bad handler ${init.handler}`);
  const modulePath = init.handler.slice(0, dot);
  const exportPath = init.handler.slice(dot + 1).split('.');

  const base = join(init.assetDir, modulePath);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((candidate) => existsSync(candidate));
  if (!file) {
    throw new SandboxError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`);
  }
  let loaded: unknown;
  if (file.endsWith('.mjs')) {
    loaded = await import(pathToFileURL(file).href);
  } else {
    // Resolve from the asset directory so that loading never depends on the process's working directory.
    const requireFromAsset = createRequire(join(init.assetDir, 'package.json'));
    try {
      loaded = requireFromAsset(file);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw error;
      loaded = await import(pathToFileURL(file).href);
    }
  }
  let target: unknown = loaded;
  for (const key of exportPath) {
    target =
      typeof target === 'object' || typeof target === 'function'
        ? (target as Record<string, unknown>)?.[key]
        : undefined;
  }
  if (typeof target !== 'function') {
    throw new SandboxError('Runtime.HandlerNotFound', `${init.handler} is undefined or not exported`);
  }
  return target as Handler;
}

function createContext(init: SandboxInit, message: InvokeMessage, realNow: () => number): SandboxContext {
  const context: SandboxContext = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: init.invokedFunctionArn,
    memoryLimitInMB: String(init.memoryMb),
    awsRequestId: message.requestId,
    logGroupName: init.logGroupName,
    logStreamName: init.logStreamName,
    // The timeout is real time (as on Lambda), so the remaining time is measured on the wall clock.
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - realNow()),
  };
  return context;
}

function callHandler(handler: Handler, event: unknown, context: SandboxContext): Promise<unknown> {
  if (handler.length < 3) return Promise.resolve().then(() => handler(event, context));
  // Callback-style handler (still supported by the Node.js 22 runtime).
  return new Promise((resolve, reject) => {
    const callback = (error?: unknown, result?: unknown) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback) as { then?: unknown } | undefined;
      if (returned && typeof returned.then === 'function') (returned as Promise<unknown>).then(resolve, reject);
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Formats `console.*` as Lambda's Node.js runtime does (text or JSON log format, per `AWS_LAMBDA_LOG_FORMAT`),
 * one line per call: newlines inside a message become carriage returns, as the runtime writes them.
 */
function patchConsole(requestId: () => string | undefined): void {
  const json = (process.env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON';
  const levels: Array<[keyof Console, string]> = [
    ['log', 'INFO'],
    ['info', 'INFO'],
    ['warn', 'WARN'],
    ['error', 'ERROR'],
    ['debug', 'DEBUG'],
    ['trace', 'TRACE'],
  ];
  for (const [method, level] of levels) {
    (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...args: unknown[]) => {
      const timestamp = new Date().toISOString();
      const message = format(...args);
      const line = json
        ? JSON.stringify({ timestamp, level, requestId: requestId(), message })
        : `${timestamp}\t${requestId() ?? 'undefined'}\t${level}\t${message.replace(/\n/g, '\r')}`;
      process.stdout.write(`${line}\n`);
    };
  }
}

const init = workerData as Partial<SandboxInit> | undefined;
if (!isMainThread && parentPort && init?.kind === 'token-warden-lambda-sandbox') {
  runSandbox(init as SandboxInit, parentPort);
}
