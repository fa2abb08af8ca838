import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { RotationScheduler } from '../../use-cases/ports';
import { aws } from './errors';

/** Scheduler's universal target that starts a Step Functions execution with a name of our choosing. */
const START_EXECUTION_TARGET = 'arn:aws:scheduler:::aws-sdk:sfn:startExecution';

export interface RotationScheduleConfig {
  rotationStateMachineArn: string;
  /** Role EventBridge Scheduler assumes to start the execution. */
  schedulerRoleArn: string;
  groupName: string;
}

/** One EventBridge Scheduler one-time schedule per token, at `expiry − rotationLead`. */
export class RotationSchedules implements RotationScheduler {
  constructor(
    private readonly config: RotationScheduleConfig,
    private readonly client: SchedulerClient = new SchedulerClient({}),
  ) {}

  static nameFor(tokenId: string): string {
    return `rotate-${tokenId}`;
  }

  /** Creates or moves the token's schedule to start `executionName` at `at`. */
  async upsert(tokenId: string, at: Date, executionName: string, input: object): Promise<void> {
    const params = {
      Name: RotationSchedules.nameFor(tokenId),
      GroupName: this.config.groupName,
      ScheduleExpression: `at(${at.toISOString().slice(0, 19)})`,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      ActionAfterCompletion: 'DELETE' as const,
      Target: {
        Arn: START_EXECUTION_TARGET,
        RoleArn: this.config.schedulerRoleArn,
        Input: JSON.stringify({
          StateMachineArn: this.config.rotationStateMachineArn,
          Name: executionName,
          Input: JSON.stringify(input),
        }),
      },
    };
    try {
      await aws('Scheduler.CreateSchedule', () => this.client.send(new CreateScheduleCommand(params)));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConflictException')) throw error;
      await aws('Scheduler.UpdateSchedule', () => this.client.send(new UpdateScheduleCommand(params)));
    }
  }

  async remove(tokenId: string): Promise<void> {
    try {
      await aws('Scheduler.DeleteSchedule', () =>
        this.client.send(
          new DeleteScheduleCommand({ Name: RotationSchedules.nameFor(tokenId), GroupName: this.config.groupName }),
        ),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceNotFoundException')) throw error;
    }
  }
}
