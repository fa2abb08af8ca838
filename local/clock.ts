/**
 * The simulated clock of the local runtime: simulated now = wall-clock now + a persisted offset.
 *
 * Every simulated wait (Step Functions `Wait`, task timeouts, retry intervals, schedules, token expiry)
 * registers a deadline here with `at()`. A deadline fires when simulated time reaches it — either because
 * wall-clock time passed, or because `advance()` moved the offset forward. `advance()` fires due deadlines in
 * time order, with `now()` pinned to each one's due time while its callbacks start.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SimulatedTimer {
  readonly dueAt: Date;
  cancel(): void;
}

interface Entry {
  seq: number;
  dueMs: number;
  fire: () => void;
  cancelled: boolean;
}

export class SimulatedClock {
  private offsetMs: number;
  /** While advancing, `now()` is pinned to the deadline being fired. */
  private pinnedMs: number | undefined;
  private readonly entries: Entry[] = [];
  private seq = 0;
  private wallTimer: NodeJS.Timeout | undefined;
  private readonly busy = new Set<Promise<unknown>>();

  constructor(private readonly file?: string) {
    this.offsetMs = 0;
    if (file) {
      try {
        const saved = JSON.parse(readFileSync(file, 'utf8')) as { offsetMs?: unknown };
        if (typeof saved.offsetMs === 'number' && Number.isFinite(saved.offsetMs)) this.offsetMs = saved.offsetMs;
      } catch {
        // no saved offset yet: start at wall-clock time
      }
    }
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return this.pinnedMs ?? Date.now() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Calls `fire` once simulated time reaches `due`. Never fires synchronously. */
  at(due: Date, fire: () => void): SimulatedTimer {
    const entry: Entry = { seq: this.seq++, dueMs: due.getTime(), fire, cancelled: false };
    this.entries.push(entry);
    this.entries.sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
    this.armWallTimer();
    return {
      dueAt: new Date(entry.dueMs),
      cancel: () => {
        entry.cancelled = true;
        this.remove(entry);
      },
    };
  }

  /** A promise that resolves once simulated time reaches `due` (rejects with `signal`'s reason if aborted). */
  sleepUntil(due: Date, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = this.at(due, () => resolve());
      signal?.addEventListener('abort', () => {
        timer.cancel();
        reject(signal.reason);
      });
    });
  }

  /** Registers work started by a firing deadline, so `advance()` can wait for it to settle. */
  track<T>(work: Promise<T>): Promise<T> {
    this.busy.add(work);
    const done = () => this.busy.delete(work);
    work.then(done, done);
    return work;
  }

  /**
   * Moves simulated time forward by `ms`, firing every deadline due in that span in time order. Resolves once
   * the work started has settled (nothing tracked is still running and no deadline is due), or after
   * `settleTimeoutMs` of wall time with `settled: false`.
   */
  async advance(ms: number, settleTimeoutMs = 30_000): Promise<{ now: Date; settled: boolean }> {
    const started = Date.now();
    const target = this.nowMs() + ms;
    const deadline = started + settleTimeoutMs;
    let settled = true;
    for (;;) {
      await this.quiesce(deadline);
      const next = this.entries.find((e) => !e.cancelled);
      if (!next || next.dueMs > target) break;
      // Jump the offset so that wall + offset = the deadline, then fire everything due at it.
      this.offsetMs = Math.max(this.offsetMs, next.dueMs - Date.now());
      this.pinnedMs = next.dueMs;
      try {
        for (const entry of this.entries.filter((e) => !e.cancelled && e.dueMs <= next.dueMs)) {
          this.remove(entry);
          entry.fire();
        }
      } finally {
        this.pinnedMs = undefined;
      }
      if (Date.now() > deadline) {
        settled = false;
        break;
      }
    }
    this.offsetMs = Math.max(this.offsetMs, target - Date.now());
    this.persist();
    if (settled) settled = await this.quiesce(deadline);
    this.armWallTimer();
    return { now: this.now(), settled };
  }

  /** Waits until no tracked work runs and no macrotask-chained work is pending; false on timeout. */
  async quiesce(deadlineWallMs: number): Promise<boolean> {
    for (;;) {
      // Let promise chains and immediate I/O run several turns before judging the system idle.
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      if (this.busy.size === 0) return true;
      if (Date.now() > deadlineWallMs) return false;
      await Promise.race([Promise.allSettled([...this.busy]), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  /** Zeroes the offset (`--reset`). */
  reset(): void {
    this.offsetMs = 0;
    this.persist();
  }

  stop(): void {
    if (this.wallTimer) clearTimeout(this.wallTimer);
    this.wallTimer = undefined;
    for (const entry of this.entries) entry.cancelled = true;
    this.entries.length = 0;
  }

  private remove(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
  }

  private persist(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify({ offsetMs: this.offsetMs }));
  }

  /** Fires deadlines that wall-clock time reaches on its own (short retries, a demo left running). */
  private armWallTimer(): void {
    if (this.wallTimer) clearTimeout(this.wallTimer);
    this.wallTimer = undefined;
    const next = this.entries.find((e) => !e.cancelled);
    if (!next) return;
    // Cap the delay: Node timers overflow past ~24.8 days, and the offset may jump meanwhile.
    const delay = Math.min(Math.max(next.dueMs - this.nowMs(), 0), 60_000);
    this.wallTimer = setTimeout(() => {
      this.wallTimer = undefined;
      const now = this.nowMs();
      for (const entry of this.entries.filter((e) => !e.cancelled && e.dueMs <= now)) {
        this.remove(entry);
        entry.fire();
      }
      this.armWallTimer();
    }, delay);
    this.wallTimer.unref();
  }
}
