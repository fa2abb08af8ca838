/**
 * The functions' metrics, over Powertools Metrics: CloudWatch embedded metric format (EMF) lines written to stdout,
 * which Lambda ships to the function's log group, where CloudWatch Logs extracts the metrics. No CloudWatch API
 * call, so no IAM grant. Namespace from `POWERTOOLS_METRICS_NAMESPACE`, dimension `service` from
 * `POWERTOOLS_SERVICE_NAME` (both set by `lib/warden-function.ts`).
 *
 * Dimensions are `service` and, for Atlassian calls, the route template: never a token value, an email or an id.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { NotifierMetrics } from '../../use-cases/ports';
import type { AuditEvent } from './audit-log';
import {
  ATLASSIAN_RATE_LIMITED_METRIC,
  ATLASSIAN_RETRIES_METRIC,
  CHAT_MESSAGES_REJECTED_METRIC,
  DECISION_LATENCY_METRIC,
  EMAILS_REJECTED_METRIC,
  LIFECYCLE_METRICS,
  LIMITER_WAIT_METRIC,
  NOTIFIER_EVENTS_DROPPED_METRIC,
  ROUTE_DIMENSION,
} from './metric-names';

/** What the adapters record; {@link PowertoolsMetricsRecorder} emits it as EMF. */
export interface MetricsRecorder {
  /** An audit record was appended (a retried step's repeat is not). */
  lifecycleEvent(event: AuditEvent): void;
  /** An approver decided a request `seconds` after it was made. */
  decisionLatency(seconds: number): void;
  /** Atlassian answered 429 on `route` (`METHOD /template`). */
  atlassianRateLimited(route: string): void;
  /** A call to `route` is sent again after a transient failure. */
  atlassianRetry(route: string): void;
  /** A call waited `ms` for its slot of the shared rate limiter. */
  limiterWait(ms: number): void;
}

/**
 * Records into one Powertools `Metrics`. Counts with the `service` dimension only are stored and published once
 * per invocation by {@link metricsMiddleware}; the per-route Atlassian counts have a dimension of their own, so each
 * is published at once as a single metric.
 */
export class PowertoolsMetricsRecorder implements MetricsRecorder {
  constructor(private readonly metrics: Metrics) {}

  lifecycleEvent(event: AuditEvent): void {
    this.metrics.addMetric(LIFECYCLE_METRICS[event], MetricUnit.Count, 1);
  }

  decisionLatency(seconds: number): void {
    this.metrics.addMetric(DECISION_LATENCY_METRIC, MetricUnit.Seconds, Math.max(0, Math.round(seconds)));
  }

  atlassianRateLimited(route: string): void {
    this.routeCount(ATLASSIAN_RATE_LIMITED_METRIC, route);
    // Also the total (service dimension only): the alarm watches it, however many routes there are (an alarm's
    // math may sum at most ten metrics).
    this.metrics.addMetric(ATLASSIAN_RATE_LIMITED_METRIC, MetricUnit.Count, 1);
  }

  atlassianRetry(route: string): void {
    this.routeCount(ATLASSIAN_RETRIES_METRIC, route);
  }

  limiterWait(ms: number): void {
    this.metrics.addMetric(LIMITER_WAIT_METRIC, MetricUnit.Milliseconds, Math.max(0, Math.round(ms)));
  }

  private routeCount(name: string, route: string): void {
    const single = this.metrics.singleMetric();
    single.addDimension(ROUTE_DIMENSION, route);
    single.addMetric(name, MetricUnit.Count, 1);
  }
}

/** The functions' one `Metrics`, built once per container. */
export const metrics = new Metrics();

/** The notifier's counts, stored with the invocation's others (published by {@link metricsMiddleware}). */
export class PowertoolsNotifierMetrics implements NotifierMetrics {
  constructor(private readonly target: Metrics = metrics) {}

  chatMessageRejected(_kind: 'slack' | 'teams'): void {
    // No dimension of the kind: the alarm watches the one total.
    this.target.addMetric(CHAT_MESSAGES_REJECTED_METRIC, MetricUnit.Count, 1);
  }

  emailRejected(): void {
    this.target.addMetric(EMAILS_REJECTED_METRIC, MetricUnit.Count, 1);
  }

  /** A message that holds no lifecycle event was dropped. */
  eventDropped(): void {
    this.target.addMetric(NOTIFIER_EVENTS_DROPPED_METRIC, MetricUnit.Count, 1);
  }
}

/** The recorder the adapters use unless they are handed another. */
export const wardenMetrics: MetricsRecorder = new PowertoolsMetricsRecorder(metrics);

/**
 * Publishes what the invocation stored, after the handler and after an error alike (Powertools' `logMetrics`
 * does the same, but also logs a warning on every invocation that stored nothing, which most API calls are).
 * Use it first in a middy chain, so that it runs last.
 */
export function metricsMiddleware(target: Metrics = metrics): middy.MiddlewareObj {
  const publish = async () => {
    if (target.hasStoredMetrics()) target.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
