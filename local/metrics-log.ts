/**
 * The metrics the local Lambdas emit, read back from their output. On AWS, CloudWatch Logs extracts metrics from
 * the embedded metric format (EMF) lines the functions write to stdout; locally the runner hands every output line
 * to {@link MetricsLog.add}, which keeps the metrics of the EMF lines for `GET /local/metrics`.
 */

/** One metric value, as `GET /local/metrics` lists it. */
export interface MetricPoint {
  name: string;
  value: number;
  unit: string;
  namespace: string;
  /** The dimensions CloudWatch would aggregate it by (e.g. `service`, `route`). */
  dimensions: Record<string, string>;
  /** The line's timestamp (the sandbox's clock, so simulated time), ISO 8601. */
  at: string;
  /** The function that wrote the line. */
  function: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The metric values of one EMF line, one point per value (a line may hold several values of one metric); `[]` for
 * any other line, including lines that are JSON but not EMF.
 */
export function parseEmfLine(line: string, functionName: string): MetricPoint[] {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes('"_aws"')) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isRecord(parsed) || !isRecord(parsed._aws)) return [];
  const { Timestamp, CloudWatchMetrics } = parsed._aws;
  if (typeof Timestamp !== 'number' || !Array.isArray(CloudWatchMetrics)) return [];
  const at = new Date(Timestamp).toISOString();
  const points: MetricPoint[] = [];
  for (const directive of CloudWatchMetrics) {
    if (!isRecord(directive) || !Array.isArray(directive.Metrics)) continue;
    const namespace = typeof directive.Namespace === 'string' ? directive.Namespace : '';
    const dimensions: Record<string, string> = {};
    for (const set of Array.isArray(directive.Dimensions) ? directive.Dimensions : []) {
      for (const key of Array.isArray(set) ? set : []) {
        const value = typeof key === 'string' ? parsed[key] : undefined;
        if (typeof value === 'string') dimensions[key] = value;
      }
    }
    for (const metric of directive.Metrics) {
      if (!isRecord(metric) || typeof metric.Name !== 'string') continue;
      const raw = parsed[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
      const unit = typeof metric.Unit === 'string' ? metric.Unit : 'None';
      for (const value of values) {
        points.push({ name: metric.Name, value, unit, namespace, dimensions, at, function: functionName });
      }
    }
  }
  return points;
}

/** The metrics seen since the runtime started, oldest first, the latest `limit` only. */
export class MetricsLog {
  private readonly points: MetricPoint[] = [];

  constructor(private readonly limit = 10_000) {}

  /** Takes one output line of a function; lines that are not EMF are ignored. */
  add(functionName: string, line: string): void {
    this.points.push(...parseEmfLine(line, functionName));
    if (this.points.length > this.limit) this.points.splice(0, this.points.length - this.limit);
  }

  /** Every point kept, or those of one metric name. */
  list(name?: string): MetricPoint[] {
    return name === undefined ? [...this.points] : this.points.filter((p) => p.name === name);
  }
}
