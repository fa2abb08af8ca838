import { Duration, Stack } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  Stats,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  ATLASSIAN_RATE_LIMITED_METRIC,
  ATLASSIAN_RETRIES_METRIC,
  ATLASSIAN_ROUTES,
  CHAT_MESSAGES_REJECTED_METRIC,
  DECISION_LATENCY_METRIC,
  LIFECYCLE_METRICS,
  LIMITER_WAIT_METRIC,
  NOTIFIER_EVENTS_DROPPED_METRIC,
  ROUTE_DIMENSION,
} from '../functions/adapters/aws/metric-names';
import type { Notifications } from './notifications';

/** Properties of {@link WardenDashboard}. */
export interface WardenDashboardProps {
  /** The alarm topic's construct: the metric alarms are added to it, and the dashboard shows all its alarms. */
  readonly notifications: Notifications;
  /** State machines whose executions are graphed, by display name. */
  readonly stateMachines: Readonly<Record<string, IStateMachine>>;
  /** Functions whose errors and throttles are graphed, by display name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /**
   * The notifier's queue and dead-letter queue: their backlog is graphed beside the chat messages refused and the
   * messages dropped.
   * @default - no chat notifications widget
   */
  readonly notifier?: { readonly queue: IQueue; readonly deadLetterQueue: IQueue };
  /**
   * Namespace of the functions' metrics (their `POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'TokenWarden'
   */
  readonly namespace?: string;
  /**
   * Value of the `service` dimension (the functions' `POWERTOOLS_SERVICE_NAME`).
   * @default 'token-warden'
   */
  readonly serviceName?: string;
  /**
   * Atlassian 429 answers, summed over every route, per 5 minutes that raise the alarm when reached in 3
   * consecutive periods: a sustained rate, which the client's retries and the shared limiter cannot absorb.
   * @default 10
   */
  readonly atlassianRateLimitedThreshold?: number;
}

const PERIOD = Duration.minutes(5);

/**
 * The operators' CloudWatch dashboard: the lifecycle counts the audit trail emits (requests, approvals, issuances,
 * rotations, revocations), Atlassian 429s and retries per route, the shared limiter's waits, workflow executions,
 * function errors, and the state of every alarm. It also adds the alarms that metrics express better than
 * execution or error counts: a failed rotation, a failed issuance, and a sustained Atlassian 429 rate.
 */
export class WardenDashboard extends Construct {
  readonly dashboard: Dashboard;
  private readonly namespace: string;
  private readonly serviceName: string;

  constructor(scope: Construct, id: string, props: WardenDashboardProps) {
    super(scope, id);
    this.namespace = props.namespace ?? 'TokenWarden';
    this.serviceName = props.serviceName ?? 'token-warden';
    const lifecycle = (event: keyof typeof LIFECYCLE_METRICS) => this.count(LIFECYCLE_METRICS[event]);

    const rateLimited = this.perRoute(ATLASSIAN_RATE_LIMITED_METRIC);
    // The functions count every 429 twice: per route (graphed) and in total (alarmed; no sum over the routes).
    const rateLimitedTotal = new Metric({
      namespace: this.namespace,
      metricName: ATLASSIAN_RATE_LIMITED_METRIC,
      dimensionsMap: { service: this.serviceName },
      statistic: Stats.SUM,
      period: PERIOD,
      label: 'Atlassian 429s, all routes',
    });
    props.notifications
      .watchMetric('RotationFailed', lifecycle('ROTATION_FAILED'), 'a token rotation failed (ROTATION_FAILED)')
      .watchMetric('IssuanceFailed', lifecycle('ISSUANCE_FAILED'), 'a token issuance failed (ISSUANCE_FAILED)')
      .watchMetric(
        'ExceptionFailed',
        lifecycle('EXCEPTION_FAILED'),
        'an access exception failed, or moving a member back into the block policy failed (EXCEPTION_FAILED)',
      )
      .watchMetric('AtlassianRateLimited', rateLimitedTotal, 'Atlassian keeps answering 429 (Too Many Requests)', {
        threshold: props.atlassianRateLimitedThreshold ?? 10,
        evaluationPeriods: 3,
      });

    const machines = Object.entries(props.stateMachines);
    const functions = Object.entries(props.functions);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Dashboards are global to the account: the region keeps two deployments of the stack apart.
      dashboardName: `${Stack.of(this).stackName}-${Stack.of(this).region}`,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Token Warden\nLifecycle counts come from the audit trail (one per record); Atlassian figures from the ' +
          `API client, per route. Metrics: namespace \`${this.namespace}\`, dimension \`service\`.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      this.graph(
        'Requests and approvals',
        [
          lifecycle('REQUESTED'),
          lifecycle('APPROVED'),
          lifecycle('REJECTED'),
          lifecycle('CANCELLED'),
          lifecycle('EXPIRED'),
        ],
        6,
      ),
      this.graph(
        'Approval decision latency (s)',
        this.statistics(DECISION_LATENCY_METRIC, [Stats.p(50), Stats.p(90), Stats.MAXIMUM]),
        6,
      ),
      this.graph('Issuance', [lifecycle('ISSUED'), lifecycle('TOKEN_UPLOADED'), lifecycle('ISSUANCE_FAILED')], 6),
      this.graph('Rotation', [lifecycle('ROTATED'), lifecycle('ROTATION_FAILED')], 6),
      this.graph(
        'Revocation, expiry and drift',
        [
          lifecycle('REVOKED'),
          lifecycle('REVOCATION_COMPLETED'),
          lifecycle('TOKEN_EXPIRED'),
          lifecycle('DRIFT_DETECTED'),
        ],
        6,
      ),
    );
    this.dashboard.addWidgets(
      this.graph('Atlassian 429s by route', rateLimited),
      this.graph('Atlassian retries by route', this.perRoute(ATLASSIAN_RETRIES_METRIC)),
      this.graph(
        'Shared Atlassian limiter: wait per call (ms)',
        this.statistics(LIMITER_WAIT_METRIC, [Stats.p(50), Stats.p(99), Stats.MAXIMUM]),
      ),
    );
    if (props.notifier) {
      const { queue, deadLetterQueue } = props.notifier;
      this.dashboard.addWidgets(
        this.graph(
          'Chat notifications',
          [
            this.count(CHAT_MESSAGES_REJECTED_METRIC),
            this.count(NOTIFIER_EVENTS_DROPPED_METRIC),
            deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period: PERIOD,
              statistic: Stats.MAXIMUM,
              label: 'dead-lettered events',
            }),
            queue.metricApproximateAgeOfOldestMessage({
              period: PERIOD,
              statistic: Stats.MAXIMUM,
              label: 'oldest queued event (s)',
            }),
          ],
          24,
        ),
      );
    }
    this.dashboard.addWidgets(
      this.graph(
        'Workflow executions failed, timed out, aborted or throttled',
        machines.flatMap(([name, machine]) => [
          machine.metricFailed({ period: PERIOD, label: `${name} failed` }),
          machine.metricTimedOut({ period: PERIOD, label: `${name} timed out` }),
          machine.metricAborted({ period: PERIOD, label: `${name} aborted` }),
          machine.metricThrottled({ period: PERIOD, label: `${name} throttled` }),
        ]),
      ),
      this.graph(
        'Function errors',
        functions.map(([name, fn]) => fn.metricErrors({ period: PERIOD, label: name })),
      ),
      this.graph(
        'Function throttles',
        functions.map(([name, fn]) => fn.metricThrottles({ period: PERIOD, label: name })),
      ),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: props.notifications.alarms, width: 24, height: 6 }),
    );
  }

  /** One line per statistic of a metric with values (a wait, a latency). */
  private statistics(metricName: string, statistics: string[]): Metric[] {
    return statistics.map(
      (statistic) =>
        new Metric({
          namespace: this.namespace,
          metricName,
          dimensionsMap: { service: this.serviceName },
          statistic,
          period: PERIOD,
          label: `${metricName} ${statistic}`,
        }),
    );
  }

  /** A count of the functions' metrics, summed per period. */
  private count(metricName: string): Metric {
    return new Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: Stats.SUM,
      period: PERIOD,
      label: metricName,
    });
  }

  /** One count per Atlassian route (the `route` dimension is method and route template). */
  private perRoute(metricName: string): Metric[] {
    return ATLASSIAN_ROUTES.map(
      (route) =>
        new Metric({
          namespace: this.namespace,
          metricName,
          dimensionsMap: { service: this.serviceName, [ROUTE_DIMENSION]: route },
          statistic: Stats.SUM,
          period: PERIOD,
          label: route,
        }),
    );
  }

  private graph(title: string, left: IMetric[], width = 8): GraphWidget {
    return new GraphWidget({ title, left, width, height: 6 });
  }
}
