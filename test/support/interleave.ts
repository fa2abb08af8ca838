/**
 * Deterministic interleavings of concurrent use cases. Every call an operation makes through a wrapped port (store,
 * vault, Atlassian, schedules, workflows) is a pause point: the operation waits there until the schedule lets it go
 * on. Only one operation runs between pause points, so a schedule — which paused operation goes next, at every
 * step — fixes the interleaving completely, and the same schedule replays the same run.
 */

export interface PausePoint {
  op: string;
  call: string;
}

interface Waiting extends PausePoint {
  resume: () => void;
}

/** Picks which of the paused operations goes on (an index into `waiting`). */
export type Chooser = (waiting: readonly PausePoint[], step: number) => number;

export class Interleaver {
  private readonly waiting: Waiting[] = [];
  private readonly running = new Map<string, Promise<unknown>>();
  private active = 0;
  private idle: (() => void) | undefined;
  /** Every pause point passed, in order: the run's trace. */
  readonly trace: PausePoint[] = [];

  /** Wraps every method of `target` so that each call first pauses as `op`. */
  wrap<T extends object>(op: string, name: string, target: T): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || prop === 'constructor') return value;
        return async (...args: unknown[]) => {
          await this.pause(op, `${name}.${String(prop)}`);
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  }

  /** Wraps one function as a pause point of `op`. */
  wrapFn<A extends unknown[], R>(op: string, call: string, fn: (...args: A) => Promise<R>) {
    return async (...args: A): Promise<R> => {
      await this.pause(op, call);
      return fn(...args);
    };
  }

  /** Whether an operation of that name was spawned. */
  has(op: string): boolean {
    return this.running.has(op);
  }

  /** Starts an operation (also from inside another one, as a workflow start does); it runs to its first pause. */
  spawn(op: string, body: () => Promise<unknown>): void {
    if (this.running.has(op)) throw new Error(`operation ${op} is already running`);
    this.active++;
    const done = (async () => {
      try {
        return await body();
      } finally {
        this.active--;
        this.checkIdle();
      }
    })();
    // Failures are the operation's result, read through `results`.
    done.catch(() => undefined);
    this.running.set(op, done);
  }

  /** Runs every spawned operation to its end, letting one paused operation go at a time as `choose` says. */
  async run(choose: Chooser): Promise<Map<string, PromiseSettledResult<unknown>>> {
    for (let step = 0; ; step++) {
      await this.untilIdle();
      if (this.waiting.length === 0) break;
      if (step > 10_000) throw new Error('interleaving did not end within 10,000 steps');
      const index = Math.min(Math.max(0, choose(this.waiting, step)), this.waiting.length - 1);
      const [next] = this.waiting.splice(index, 1);
      this.trace.push({ op: next!.op, call: next!.call });
      this.active++;
      next!.resume();
    }
    const results = new Map<string, PromiseSettledResult<unknown>>();
    for (const [op, done] of this.running) {
      results.set(
        op,
        await done.then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason) => ({ status: 'rejected', reason }) as const,
        ),
      );
    }
    return results;
  }

  private pause(op: string, call: string): Promise<void> {
    return new Promise((resume) => {
      this.waiting.push({ op, call, resume });
      this.active--;
      if (this.active < 0) throw new Error('an operation paused twice at once (parallel calls are not modelled)');
      this.checkIdle();
    });
  }

  private untilIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  private checkIdle(): void {
    if (this.active === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }
}

/**
 * Lets `op` (every operation whose name starts with it) run to its `k`-th pause point, then the others to their end,
 * then `op` to its end.
 */
export function insertAt(op: string, k: number): Chooser {
  let passed = 0;
  return (waiting) => {
    const mine = waiting.findIndex((w) => w.op.startsWith(op));
    const others = waiting.findIndex((w) => !w.op.startsWith(op));
    if (mine >= 0 && (passed < k || others < 0)) {
      passed++;
      return mine;
    }
    return Math.max(others, 0);
  };
}

/** Lets every operation but `op` (by name prefix) go for `k` pause points, then `op` to its end, then the others. */
export function othersFirstFor(op: string, k: number): Chooser {
  return (waiting, step) => {
    const other = waiting.findIndex((w) => !w.op.startsWith(op));
    if (step < k && other >= 0) return other;
    const mine = waiting.findIndex((w) => w.op.startsWith(op));
    return Math.max(mine, 0);
  };
}

/** A chooser from a list of numbers (fast-check's shrinking then finds the shortest schedule that fails). */
export function fromChoices(choices: readonly number[]): Chooser {
  return (waiting, step) => (choices[step] ?? 0) % waiting.length;
}
