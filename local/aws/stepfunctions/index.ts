/**
 * Step Functions of the local runtime: runs the synthesized state machines (plain ASL, JSONPath) in-process with
 * aws-local-stepfunctions on the simulated clock, and answers the Step Functions API on the local AWS endpoint.
 *
 * - `api.ts` — the API operations and the service's lifecycle (register, resume, idle, close);
 * - `store.ts` — executions and their histories, persisted to the executions file;
 * - `executions.ts` — runs: the engine's transitions and outcomes into the history;
 * - `tasks.ts` — the local Task and Wait handlers (Lambda calls, task tokens, timeouts, retries, waits);
 * - `errors.ts`, `task-tokens.ts`, `wire.ts`, `model.ts`, `util.ts` — what those share.
 */
export { LocalStepFunctions, type LocalStepFunctionsOptions, type StateMachineRegistration } from './api';
export type { TaskInvoker } from './model';
export type { ExecutionStatus } from './store';
export { isWellFormedTaskToken } from './task-tokens';
export { isValidExecutionName } from './wire';
