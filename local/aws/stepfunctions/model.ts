/** What a run of the local Step Functions is made of: the machine it runs, its state, its open task tokens. */
import type { StateMachine } from 'aws-local-stepfunctions';
import type { SimulatedTimer } from '../../clock';
import type { Json, LocalDefinition } from '../asl-rewrite';
import type { ExecutionRecord } from './store';

/** Calls the Lambda function behind a Task on behalf of an execution; rejects with the handler's error. */
export type TaskInvoker = (call: {
  stateName: string;
  resource: string;
  functionName: string;
  payload: unknown;
  executionArn: string;
}) => Promise<unknown>;

export interface Machine {
  arn: string;
  name: string;
  type: 'STANDARD';
  roleArn: string;
  definitionText: string;
  local: LocalDefinition;
  engine: StateMachine;
  creationDate: number;
}

/** One in-process run of an execution (a re-drive is a new run of the same execution). */
export interface Run {
  exec: ExecutionRecord;
  machine: Machine;
  /** False once the execution closed or the runtime shut down: nothing more is recorded for this run. */
  active: boolean;
  controller: AbortController;
  /** Handler work by state and effective input, so an engine re-entry joins the work already in flight. */
  inFlight: Map<string, Promise<Json>>;
  /** Raw input of each state at entry (for `TimeoutSecondsPath`/`HeartbeatSecondsPath`). */
  enteredInputs: Map<string, unknown>;
  /** Simulated time each state's entry was recorded, so a `Wait` lasts exactly as long in the history. */
  enteredAt: Map<string, number>;
  context: Record<string, unknown>;
  timeoutTimer?: SimulatedTimer;
  abortEngine?: () => void;
  settled: Promise<void>;
}

export interface PendingTask {
  run: Run;
  succeed(output: Json): void;
  fail(error: string, cause: string): void;
  heartbeat(): void;
}
