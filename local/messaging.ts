/**
 * The event-delivery part of the synthesized template, read for the local runtime: SQS queues
 * (`AWS::SQS::Queue`, with their redrive policies), EventBridge rules with their event patterns and SQS targets
 * (`AWS::Events::Rule`), and Lambda event source mappings that poll a queue (`AWS::Lambda::EventSourceMapping`).
 * Like the rest of the local model, nothing is wired by hand: what the template does not declare is absent.
 */
import {
  type CloudFormationTemplate,
  defaultIdentities,
  type ResolveContext,
  type ResourceIdentity,
  resolveValue,
} from '../lib/synth/resolve-template';
import { checkEventPattern, type EventPattern } from './aws/event-pattern';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/protocol';

export interface LocalQueue {
  logicalId: string;
  name: string;
  arn: string;
  /** CreateQueue attributes (strings, as the API takes them); `RedrivePolicy` as JSON text. */
  attributes: Record<string, string>;
  /** The dead-letter queue's ARN, when the queue has one. */
  deadLetterTargetArn?: string;
}

export interface LocalRuleTarget {
  id: string;
  arn: string;
  /** `Input`: constant JSON text sent instead of the event. */
  input?: string;
  /** `InputPath`: the part of the event sent (JSONPath, `$.detail` …). */
  inputPath?: string;
  inputTransformer?: { inputPathsMap: Record<string, string>; inputTemplate: string };
}

export interface LocalRule {
  logicalId: string;
  name: string;
  /** The bus name (never an ARN). */
  eventBusName: string;
  pattern: EventPattern;
  targets: LocalRuleTarget[];
}

export interface LocalEventSourceMapping {
  logicalId: string;
  /** The function's local name. */
  functionName: string;
  queueArn: string;
  /** @default 10 (Lambda's default for SQS) */
  batchSize: number;
  /** `FunctionResponseTypes` holds `ReportBatchItemFailures`. */
  reportBatchItemFailures: boolean;
  /** `FilterCriteria.Filters[].Pattern`, parsed: a message matching none is deleted without an invocation. */
  filters: EventPattern[];
}

export interface LocalMessaging {
  /** Dead-letter queues come before the queues that redrive to them. */
  queues: LocalQueue[];
  /** Enabled rules with an event pattern (schedule rules are refused). */
  rules: LocalRule[];
  /** Enabled mappings from SQS queues. */
  eventSourceMappings: LocalEventSourceMapping[];
}

type Resources = CloudFormationTemplate['Resources'];

const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
];

function ofType(resources: Resources, type: string): [string, Record<string, unknown>][] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, (r.Properties ?? {}) as Record<string, unknown>]);
}

/**
 * Identities of the template's queues for the resolver: `Ref` is the queue URL on the local AWS endpoint,
 * `Fn::GetAtt` gives `Arn`, `QueueName` and `QueueUrl`. A queue without `QueueName` is named after its logical id.
 */
export function queueIdentities(template: CloudFormationTemplate, awsUrl: string): Record<string, ResourceIdentity> {
  const identities: Record<string, ResourceIdentity> = {};
  for (const [logicalId, p] of ofType(template.Resources, 'AWS::SQS::Queue')) {
    const name = typeof p.QueueName === 'string' ? p.QueueName : logicalId;
    const url = `${awsUrl.replace(/\/+$/, '')}/${LOCAL_ACCOUNT}/${name}`;
    identities[logicalId] = {
      ref: url,
      attributes: { Arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`, QueueName: name, QueueUrl: url },
    };
  }
  return identities;
}

/** Reads queues, rules and SQS event source mappings; throws naming what the local runtime cannot deliver. */
export function readMessaging(
  template: CloudFormationTemplate,
  overrides: Record<string, ResourceIdentity>,
): LocalMessaging {
  const env = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT, stackName: 'TokenWarden' };
  const ctx: ResolveContext = { ...env, resources: { ...defaultIdentities(template, env), ...overrides } };
  const all = template.Resources;

  const queues = ofType(all, 'AWS::SQS::Queue').map(([logicalId, raw]): LocalQueue => {
    const p = resolveValue(raw, ctx) as Record<string, unknown>;
    if (p.FifoQueue === true || p.FifoQueue === 'true') {
      throw new Error(`queue ${logicalId}: FIFO queues are not supported by the local runtime`);
    }
    const identity = ctx.resources[logicalId];
    const attributes: Record<string, string> = {};
    for (const key of QUEUE_ATTRIBUTES) if (p[key] !== undefined) attributes[key] = String(p[key]);
    // CloudFormation takes the redrive policy as a JSON object, or as its text.
    const redrive = (typeof p.RedrivePolicy === 'string' ? JSON.parse(p.RedrivePolicy) : p.RedrivePolicy) as
      | { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
      | undefined;
    if (redrive) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: String(redrive.deadLetterTargetArn),
        maxReceiveCount: Number(redrive.maxReceiveCount),
      });
    }
    return {
      logicalId,
      name: identity?.attributes?.QueueName ?? logicalId,
      arn: identity?.attributes?.Arn ?? logicalId,
      attributes,
      ...(redrive ? { deadLetterTargetArn: String(redrive.deadLetterTargetArn) } : {}),
    };
  });

  const rules: LocalRule[] = [];
  for (const [logicalId, raw] of ofType(all, 'AWS::Events::Rule')) {
    const p = resolveValue(raw, ctx) as Record<string, unknown>;
    if (p.State === 'DISABLED') continue;
    if (p.EventPattern === undefined) {
      throw new Error(
        `rule ${logicalId}: only rules with an EventPattern are supported locally (not ScheduleExpression)`,
      );
    }
    const pattern = typeof p.EventPattern === 'string' ? (JSON.parse(p.EventPattern) as unknown) : p.EventPattern;
    checkEventPattern(pattern, `rule ${logicalId} EventPattern`);
    const bus = typeof p.EventBusName === 'string' ? p.EventBusName : 'default';
    const targets = ((p.Targets as Record<string, unknown>[] | undefined) ?? []).map((t): LocalRuleTarget => {
      const arn = String(t.Arn);
      if (!queues.some((q) => q.arn === arn)) {
        throw new Error(
          `rule ${logicalId} target ${String(t.Id)}: ${arn} is not a queue of the template (the local runtime delivers to SQS targets only)`,
        );
      }
      const transformer = t.InputTransformer as
        | { InputPathsMap?: Record<string, string>; InputTemplate?: string }
        | undefined;
      return {
        id: String(t.Id),
        arn,
        ...(typeof t.Input === 'string' ? { input: t.Input } : {}),
        ...(typeof t.InputPath === 'string' ? { inputPath: t.InputPath } : {}),
        ...(transformer
          ? {
              inputTransformer: {
                inputPathsMap: transformer.InputPathsMap ?? {},
                inputTemplate: String(transformer.InputTemplate),
              },
            }
          : {}),
      };
    });
    rules.push({
      logicalId,
      name: typeof p.Name === 'string' ? p.Name : logicalId,
      eventBusName: bus.split('/').pop() ?? bus,
      pattern,
      targets,
    });
  }

  const functionNames = new Set(ofType(all, 'AWS::Lambda::Function').map(([id]) => ctx.resources[id]?.ref ?? id));
  const eventSourceMappings: LocalEventSourceMapping[] = [];
  for (const [logicalId, raw] of ofType(all, 'AWS::Lambda::EventSourceMapping')) {
    const p = resolveValue(raw, ctx) as Record<string, unknown>;
    const source = String(p.EventSourceArn ?? '');
    if (!source.startsWith('arn:aws:sqs:')) {
      throw new Error(`event source mapping ${logicalId}: only SQS event sources are supported locally, not ${source}`);
    }
    if (p.Enabled === false || p.Enabled === 'false') continue;
    if (!queues.some((q) => q.arn === source)) {
      throw new Error(`event source mapping ${logicalId}: ${source} is not a queue of the template`);
    }
    const functionName =
      String(p.FunctionName ?? '')
        .split(':')
        .pop() ?? '';
    if (!functionNames.has(functionName)) {
      throw new Error(`event source mapping ${logicalId}: function ${functionName} is not in the template`);
    }
    const filters = ((p.FilterCriteria as { Filters?: { Pattern?: string }[] } | undefined)?.Filters ?? []).map(
      (filter, i) => {
        const parsed: unknown = JSON.parse(String(filter.Pattern ?? '{}'));
        checkEventPattern(parsed, `event source mapping ${logicalId} filter ${i}`);
        return parsed;
      },
    );
    eventSourceMappings.push({
      logicalId,
      functionName,
      queueArn: source,
      batchSize: Number(p.BatchSize ?? 10),
      reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
        'ReportBatchItemFailures',
      ),
      filters,
    });
  }

  return { queues: deadLettersFirst(queues), rules, eventSourceMappings };
}

/** Orders queues so that each dead-letter queue exists before a queue names it in its redrive policy. */
function deadLettersFirst(queues: LocalQueue[]): LocalQueue[] {
  const ordered: LocalQueue[] = [];
  const placed = new Set<string>();
  const place = (queue: LocalQueue, path: string[]) => {
    if (placed.has(queue.arn)) return;
    if (path.includes(queue.arn)) throw new Error(`queue ${queue.logicalId}: redrive policies form a cycle`);
    const dlq = queues.find((q) => q.arn === queue.deadLetterTargetArn);
    if (queue.deadLetterTargetArn && !dlq) {
      throw new Error(
        `queue ${queue.logicalId}: dead-letter queue ${queue.deadLetterTargetArn} is not in the template`,
      );
    }
    if (dlq) place(dlq, [...path, queue.arn]);
    placed.add(queue.arn);
    ordered.push(queue);
  };
  for (const queue of queues) place(queue, []);
  return ordered;
}
