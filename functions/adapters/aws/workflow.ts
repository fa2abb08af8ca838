import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { WorkflowEngine } from '../../use-cases/ports';
import { aws } from './errors';

/** Starts workflow executions and resumes waiting tasks. */
export class Workflows implements WorkflowEngine {
  constructor(private readonly sfn: SFNClient = new SFNClient({})) {}

  /** Starts an execution; an existing one with the same name and input is the same execution (idempotent). */
  async start(stateMachineArn: string, name: string, input: object): Promise<string> {
    try {
      const out = await aws('SFN.StartExecution', () =>
        this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })),
      );
      return out.executionArn ?? '';
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return '';
      throw error;
    }
  }

  /** Resumes a task; returns false if the token is no longer valid (the task ended or was re-issued). */
  async succeed(taskToken: string, output: object): Promise<boolean> {
    try {
      await aws('SFN.SendTaskSuccess', () =>
        this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && (error.name === 'TaskTimedOut' || error.name === 'InvalidToken')) return false;
      throw error;
    }
  }

  /** Stops an execution if it exists and runs; a missing or finished one is fine. */
  async stop(executionArn: string, cause: string): Promise<void> {
    try {
      await aws('SFN.StopExecution', () =>
        this.sfn.send(new StopExecutionCommand({ executionArn, error: 'TokenWarden.Stopped', cause })),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return;
      throw error;
    }
  }
}
