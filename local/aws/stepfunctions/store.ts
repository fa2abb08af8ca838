/**
 * The executions of the local Step Functions and their histories, persisted to one JSON append log
 * (`<data-dir>/stepfunctions.json`): the document, then one change per line (see `JsonLog`).
 */
import { JsonLog } from '../json-store';
import { isRecord } from './util';

/** Status of an execution, as `DescribeExecution` reports it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One history event; `timestamp` in simulated epoch milliseconds. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  detailsKey?: string;
  details?: Record<string, unknown>;
}

/** The executions file: the document, then one {@link ExecutionChange} per line (see `JsonLog`). */
interface ExecutionsDocument {
  version: 1;
  executions: ExecutionRecord[];
}

/** One execution's change: its fields, and the history events recorded since the last change was written. */
interface ExecutionChange {
  execution: Omit<ExecutionRecord, 'history'>;
  /** How many events of the history came before `events`. */
  from: number;
  events: HistoryEvent[];
}

/** What is persisted per execution. */
export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount: number;
  redriveDate?: number;
  history: HistoryEvent[];
}

/** Details of a history event that carries no payload. */
export const NO_DATA = { truncated: false };

/** Executions by ARN, with their histories; written coalesced, once per turn of the event loop. */
export class ExecutionStore {
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly log: JsonLog<ExecutionsDocument, ExecutionChange> | undefined;
  private persistHandle: NodeJS.Immediate | undefined;
  /** Executions changed since the file was last written, and how many of their events it holds. */
  private readonly dirty = new Set<ExecutionRecord>();
  private readonly persistedEvents = new Map<string, number>();
  private sealed = false;

  /**
   * @param file the executions file; absent → in memory only.
   * @param now simulated epoch milliseconds, for event timestamps.
   */
  constructor(
    file: string | undefined,
    private readonly now: () => number,
  ) {
    this.log = file ? new JsonLog(file, () => ({ version: 1, executions: [] })) : undefined;
    this.load();
  }

  get(executionArn: string): ExecutionRecord | undefined {
    return this.executions.get(executionArn);
  }

  add(exec: ExecutionRecord): void {
    this.executions.set(exec.executionArn, exec);
  }

  values(): IterableIterator<ExecutionRecord> {
    return this.executions.values();
  }

  /** Stops scheduling writes: the runtime is shutting down and {@link flush} writes the end state. */
  seal(): void {
    this.sealed = true;
  }

  /** Writes every execution whole, dropping any write still scheduled. */
  flush(): void {
    if (this.persistHandle) clearImmediate(this.persistHandle);
    this.persistHandle = undefined;
    this.writeNow();
  }

  /** Appends a history event to `exec`, never earlier than the one before, and schedules its write. */
  recordEvent(exec: ExecutionRecord, type: string, detailsKey?: string, details?: Record<string, unknown>): void {
    const last = exec.history.at(-1);
    exec.history.push({
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      timestamp: Math.max(this.now(), last?.timestamp ?? 0),
      type,
      ...(detailsKey && details ? { detailsKey, details } : {}),
    });
    this.schedulePersist(exec);
  }

  private load(): void {
    if (!this.log) return;
    let saved: { document: unknown; entries: ExecutionChange[] };
    try {
      saved = this.log.read() as { document: unknown; entries: ExecutionChange[] };
    } catch (error) {
      throw new Error(`Cannot read the Step Functions executions file ${this.log.file}: ${(error as Error).message}`);
    }
    const list =
      isRecord(saved.document) && Array.isArray(saved.document.executions) ? saved.document.executions : undefined;
    if (!list) throw new Error(`The Step Functions executions file ${this.log.file} has no "executions" list`);
    for (const exec of list as ExecutionRecord[]) this.executions.set(exec.executionArn, exec);
    for (const change of saved.entries) {
      const before = this.executions.get(change.execution.executionArn)?.history ?? [];
      const history = [...before.slice(0, change.from), ...change.events];
      this.executions.set(change.execution.executionArn, { ...change.execution, history });
    }
  }

  /** Schedules the write of `exec`'s change (of every pending change when absent). */
  schedulePersist(exec?: ExecutionRecord): void {
    if (!this.log || this.sealed) return;
    if (exec) this.dirty.add(exec);
    if (this.persistHandle) return;
    // Coalesce the many events of one turn into one append per changed execution.
    this.persistHandle = setImmediate(() => {
      this.persistHandle = undefined;
      this.persistChanges();
    });
  }

  /** Appends each changed execution's new fields and events; rewrites the file whole once the changes outweigh it. */
  private persistChanges(): void {
    if (!this.log) return;
    if (!this.log.ready || this.log.wantsRewrite) {
      this.writeNow();
      return;
    }
    for (const exec of this.dirty) {
      const from = Math.min(this.persistedEvents.get(exec.executionArn) ?? 0, exec.history.length);
      const { history, ...execution } = exec;
      this.log.append({ execution, from, events: history.slice(from) });
      this.persistedEvents.set(exec.executionArn, history.length);
    }
    this.dirty.clear();
  }

  /** Writes every execution whole. */
  private writeNow(): void {
    if (!this.log) return;
    this.log.write({ version: 1, executions: [...this.executions.values()] });
    this.dirty.clear();
    for (const exec of this.executions.values()) this.persistedEvents.set(exec.executionArn, exec.history.length);
  }
}
