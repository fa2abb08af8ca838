import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Properties of {@link Notifications}. */
export interface NotificationsProps {
  /** Key that encrypts the topic. */
  readonly encryptionKey: IKey;
  /** Admins subscribed by email (`notifications.adminEmails` of the policy). */
  readonly adminEmails: readonly string[];
}

/** The admins' alarm topic, and the alarms that publish to it. */
export class Notifications extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'AdminAlarms', {
      displayName: 'Token Warden alarms',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    for (const email of props.adminEmails) this.topic.addSubscription(new EmailSubscription(email));
    this.action = new SnsAction(this.topic);
  }

  /** Alarms on any failed, timed-out, throttled or aborted execution of `machine`. */
  watchStateMachine(id: string, machine: IStateMachine): this {
    const period = Duration.minutes(5);
    this.alarmOn(`${id}ExecutionsFailed`, machine.metricFailed({ period }), `${id}: an execution failed`);
    this.alarmOn(`${id}ExecutionsTimedOut`, machine.metricTimedOut({ period }), `${id}: an execution timed out`);
    this.alarmOn(`${id}ExecutionThrottled`, machine.metricThrottled({ period }), `${id}: executions are throttled`);
    this.alarmOn(`${id}ExecutionsAborted`, machine.metricAborted({ period }), `${id}: an execution was aborted`);
    return this;
  }

  /** Alarms on any error of `fn`. */
  watchFunction(id: string, fn: IFunction): this {
    this.alarmOn(`${id}Errors`, fn.metricErrors({ period: Duration.minutes(5) }), `${id}: the function failed`);
    return this;
  }

  /**
   * Alarms when `metric` reaches `threshold` in each of `evaluationPeriods` consecutive periods.
   * @param opts.threshold @default 1
   * @param opts.evaluationPeriods @default 1
   */
  watchMetric(
    id: string,
    metric: IMetric,
    description: string,
    opts: { threshold?: number; evaluationPeriods?: number } = {},
  ): this {
    this.alarmOn(id, metric, description, opts.threshold, opts.evaluationPeriods);
    return this;
  }

  private alarmOn(id: string, metric: IMetric, description: string, threshold = 1, evaluationPeriods = 1): void {
    const alarm = new Alarm(this, id, {
      metric,
      alarmDescription: `Token Warden ${description}`,
      threshold,
      evaluationPeriods,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
  }
}
