/**
 * Resolves the CloudFormation intrinsics CDK leaves in a synthesized template (`Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Sub`, `Fn::Select`, `Fn::Split`, pseudo parameters) to plain values, given what each logical id stands
 * for. The infra tests use it to read state machine definitions as plain ASL, and the local runtime uses it to
 * turn the deployed template into local names and ARNs. Pure: no I/O, no CDK imports.
 */

/** What one logical id resolves to: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface ResourceIdentity {
  readonly ref: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

/** Everything the resolver needs to know about the environment the template is "deployed" into. */
export interface ResolveContext {
  /** `AWS::Partition` @default 'aws' */
  readonly partition?: string;
  readonly region: string;
  readonly accountId: string;
  /** `AWS::URLSuffix` @default 'amazonaws.com' */
  readonly urlSuffix?: string;
  /** `AWS::StackName` @default 'TokenWarden' */
  readonly stackName?: string;
  /** Logical id → identity. */
  readonly resources: Readonly<Record<string, ResourceIdentity>>;
}

/** A template resource, as far as the resolver reads it. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** A synthesized template, as far as the resolver reads it. */
export interface CloudFormationTemplate {
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

/** An intrinsic the resolver cannot evaluate, or a reference to something it does not know. */
export class UnresolvableError extends Error {
  override readonly name = 'UnresolvableError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function pseudoParameter(name: string, ctx: ResolveContext): string | undefined {
  switch (name) {
    case 'AWS::Partition':
      return ctx.partition ?? 'aws';
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::URLSuffix':
      return ctx.urlSuffix ?? 'amazonaws.com';
    case 'AWS::StackName':
      return ctx.stackName ?? 'TokenWarden';
    case 'AWS::StackId':
      return `arn:${ctx.partition ?? 'aws'}:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName ?? 'TokenWarden'}/00000000-0000-0000-0000-000000000000`;
    default:
      return undefined;
  }
}

function resolveRef(name: string, ctx: ResolveContext): string {
  const pseudo = pseudoParameter(name, ctx);
  if (pseudo !== undefined) return pseudo;
  const identity = ctx.resources[name];
  if (!identity) throw new UnresolvableError(`Ref to unknown logical id ${name}`);
  return identity.ref;
}

function resolveGetAtt(logicalId: string, attribute: string, ctx: ResolveContext): string {
  const identity = ctx.resources[logicalId];
  if (!identity) throw new UnresolvableError(`Fn::GetAtt of unknown logical id ${logicalId}`);
  const value = identity.attributes?.[attribute];
  if (value === undefined) throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute}: attribute not known`);
  return value;
}

function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UnresolvableError(`${where}: expected a string, got ${JSON.stringify(value)}`);
}

function resolveSub(template: string, variables: Record<string, unknown>, ctx: ResolveContext): string {
  return template.replace(/\$\{([^}]*)\}/g, (whole, expression: string) => {
    // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
    if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
    if (expression in variables) return asString(resolveValue(variables[expression], ctx), `Fn::Sub ${whole}`);
    const pseudo = pseudoParameter(expression, ctx);
    if (pseudo !== undefined) return pseudo;
    const dot = expression.indexOf('.');
    if (dot > 0) return resolveGetAtt(expression.slice(0, dot), expression.slice(dot + 1), ctx);
    return resolveRef(expression, ctx);
  });
}

/** Resolves every intrinsic inside `value` (recursively); plain values come back unchanged. */
export function resolveValue(value: unknown, ctx: ResolveContext): Json {
  if (value === null || typeof value !== 'object') return value as Json;
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, ctx));
  const entries = Object.entries(value as Record<string, unknown>);
  const [first] = entries;
  if (entries.length === 1 && first) {
    const [key, arg] = first;
    switch (key) {
      case 'Ref':
        return resolveRef(asString(arg, 'Ref'), ctx);
      case 'Fn::GetAtt': {
        const [logicalId, ...attribute] = Array.isArray(arg) ? arg.map(String) : asString(arg, key).split('.');
        if (!logicalId || attribute.length === 0)
          throw new UnresolvableError(`malformed Fn::GetAtt ${JSON.stringify(arg)}`);
        return resolveGetAtt(logicalId, attribute.join('.'), ctx);
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2)
          throw new UnresolvableError(`malformed Fn::Join ${JSON.stringify(arg)}`);
        const parts = resolveValue(arg[1], ctx);
        if (!Array.isArray(parts)) throw new UnresolvableError('Fn::Join: second argument must resolve to a list');
        return parts.map((part) => asString(part, 'Fn::Join')).join(asString(arg[0], 'Fn::Join delimiter'));
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return resolveSub(arg, {}, ctx);
        if (Array.isArray(arg) && typeof arg[0] === 'string') {
          return resolveSub(arg[0], (arg[1] ?? {}) as Record<string, unknown>, ctx);
        }
        throw new UnresolvableError(`malformed Fn::Sub ${JSON.stringify(arg)}`);
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2)
          throw new UnresolvableError(`malformed Fn::Split ${JSON.stringify(arg)}`);
        return asString(resolveValue(arg[1], ctx), 'Fn::Split').split(asString(arg[0], 'Fn::Split delimiter'));
      }
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2)
          throw new UnresolvableError(`malformed Fn::Select ${JSON.stringify(arg)}`);
        const index = Number(resolveValue(arg[0], ctx));
        const list = resolveValue(arg[1], ctx);
        if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
          throw new UnresolvableError(`Fn::Select index ${String(arg[0])} out of range`);
        }
        return list[index] as Json;
      }
      default:
        if (key.startsWith('Fn::') || key === 'Condition') {
          throw new UnresolvableError(`unsupported intrinsic ${key}`);
        }
    }
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveValue(item, ctx)]));
}

/** Like {@link resolveValue}, for a value that must come out as a string. */
export function resolveString(value: unknown, ctx: ResolveContext): string {
  return asString(resolveValue(value, ctx), 'value');
}

/**
 * Default identities for the resources of `template`: an explicit physical name (`FunctionName`, `TableName`,
 * `StateMachineName`, `Name`) when the template sets one, otherwise the logical id; ARNs built from it the way
 * AWS builds them. Override entries to taste (for example the API endpoint of a local server).
 */
export function defaultIdentities(
  template: CloudFormationTemplate,
  env: Omit<ResolveContext, 'resources'>,
): Record<string, ResourceIdentity> {
  const partition = env.partition ?? 'aws';
  const arn = (service: string, resource: string) =>
    `arn:${partition}:${service}:${env.region}:${env.accountId}:${resource}`;
  const identities: Record<string, ResourceIdentity> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    const explicit = (key: string) => (typeof props[key] === 'string' ? (props[key] as string) : logicalId);
    switch (resource.Type) {
      case 'AWS::Lambda::Function': {
        const name = explicit('FunctionName');
        identities[logicalId] = { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const name = explicit('TableName');
        const tableArn = arn('dynamodb', `table/${name}`);
        identities[logicalId] = { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/local` } };
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const name = explicit('StateMachineName');
        const machineArn = arn('states', `stateMachine:${name}`);
        identities[logicalId] = { ref: machineArn, attributes: { Arn: machineArn, Name: name } };
        break;
      }
      case 'AWS::SecretsManager::Secret': {
        const name = explicit('Name');
        identities[logicalId] = { ref: arn('secretsmanager', `secret:${name}`), attributes: { Id: name } };
        break;
      }
      case 'AWS::KMS::Key': {
        const keyArn = arn('kms', `key/${logicalId}`);
        identities[logicalId] = { ref: logicalId, attributes: { Arn: keyArn, KeyId: logicalId } };
        break;
      }
      case 'AWS::SNS::Topic': {
        const name = explicit('TopicName');
        const topicArn = arn('sns', name);
        identities[logicalId] = { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
        break;
      }
      case 'AWS::Logs::LogGroup': {
        const name = explicit('LogGroupName');
        identities[logicalId] = { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
        break;
      }
      case 'AWS::IAM::Role': {
        identities[logicalId] = {
          ref: logicalId,
          attributes: { Arn: `arn:${partition}:iam::${env.accountId}:role/${logicalId}`, RoleId: logicalId },
        };
        break;
      }
      case 'AWS::Events::EventBus': {
        const name = explicit('Name');
        identities[logicalId] = { ref: name, attributes: { Arn: arn('events', `event-bus/${name}`), Name: name } };
        break;
      }
      case 'AWS::SQS::Queue': {
        const name = explicit('QueueName');
        const url = `https://sqs.${env.region}.${env.urlSuffix ?? 'amazonaws.com'}/${env.accountId}/${name}`;
        identities[logicalId] = {
          ref: url,
          attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url },
        };
        break;
      }
      case 'AWS::Events::Rule': {
        const name = explicit('Name');
        identities[logicalId] = { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } };
        break;
      }
      case 'AWS::Scheduler::ScheduleGroup': {
        const name = explicit('Name');
        identities[logicalId] = { ref: name, attributes: { Arn: arn('scheduler', `schedule-group/${name}`) } };
        break;
      }
      case 'AWS::ApiGatewayV2::Api': {
        identities[logicalId] = {
          ref: logicalId,
          attributes: {
            ApiId: logicalId,
            ApiEndpoint: `https://${logicalId}.execute-api.${env.region}.${env.urlSuffix ?? 'amazonaws.com'}`,
          },
        };
        break;
      }
      default:
        identities[logicalId] = { ref: logicalId };
    }
  }
  return identities;
}

/**
 * The ASL of an `AWS::StepFunctions::StateMachine` resource as a plain object: `DefinitionString` resolved
 * (and `DefinitionSubstitutions` applied) or `Definition` taken as it is.
 */
export function resolveStateMachineDefinition(resource: TemplateResource, ctx: ResolveContext): Record<string, Json> {
  if (resource.Type !== 'AWS::StepFunctions::StateMachine') {
    throw new UnresolvableError(`expected AWS::StepFunctions::StateMachine, got ${resource.Type}`);
  }
  const props = resource.Properties ?? {};
  if (props.Definition !== undefined) return resolveValue(props.Definition, ctx) as Record<string, Json>;
  let text = resolveString(props.DefinitionString, ctx);
  const substitutions = props.DefinitionSubstitutions as Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(substitutions ?? {})) {
    text = text.split(`\${${name}}`).join(resolveString(value, ctx));
  }
  return JSON.parse(text) as Record<string, Json>;
}
