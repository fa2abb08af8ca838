/**
 * Reads the synthesized CloudFormation template into what the local runtime serves: functions with their resolved
 * environment, tables, secrets, state machines, HTTP API routes and JWT authorizer, and the IAM actions each function
 * was granted. Nothing here is wired by hand: a route, table or function absent from the template is absent locally.
 */
import { join } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  type CloudFormationTemplate,
  defaultIdentities,
  type ResolveContext,
  type ResourceIdentity,
  resolveStateMachineDefinition,
  resolveValue,
} from '../lib/synth/resolve-template';
import type { HttpRoute } from './api-gateway';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/protocol';
import type { LocalFunction } from './lambda-runner';

export interface LocalSecretSpec {
  logicalId: string;
  name: string;
  description?: string;
  /** `GenerateSecretString` settings: the runtime generates the value once. */
  generate?: { length: number; excludePunctuation: boolean };
}

export interface LocalStateMachine {
  logicalId: string;
  name: string;
  arn: string;
  type: string;
  definition: Record<string, unknown>;
}

export interface LocalSchedule {
  logicalId: string;
  name: string;
  groupName: string;
  expression: string;
  timezone?: string;
  state?: string;
  target: { arn: string; roleArn: string; input?: string };
}

/** A function's resource policy statement that lets Secrets Manager invoke it (`AWS::Lambda::Permission`). */
export interface LocalRotationPermission {
  /** The function's name (the last part of its ARN). */
  functionName: string;
  sourceAccount?: string;
  /** The secrets it may be invoked for: an ARN pattern (`*`, `?`), as the `ArnLike` condition on `aws:SourceArn`. */
  sourceArn?: string;
}

/** A secret's rotation configuration declared in the template (`AWS::SecretsManager::RotationSchedule`). */
export interface LocalRotationSchedule {
  logicalId: string;
  secretId: string;
  rotationLambdaArn: string;
  rules: { AutomaticallyAfterDays?: number; ScheduleExpression?: string; Duration?: string };
}

export interface LocalModel {
  /** Scheduler groups and schedules declared in the template (the daily sweep, the inventory). */
  scheduleGroups: string[];
  schedules: LocalSchedule[];
  functions: LocalFunction[];
  tables: CreateTableCommandInput[];
  secrets: LocalSecretSpec[];
  stateMachines: LocalStateMachine[];
  routes: HttpRoute[];
  /** IAM actions granted to each function (by function name), for the start-up check of emulated operations. */
  grantedActions: Map<string, string[]>;
  /** Which functions Secrets Manager may invoke to rotate secrets, and for which secrets. */
  rotationPermissions: LocalRotationPermission[];
  /** The rotation configured for the template's own secrets (the link-signing key). */
  rotationSchedules: LocalRotationSchedule[];
}

type Resources = CloudFormationTemplate['Resources'];

function ofType(resources: Resources, type: string): [string, Record<string, unknown>][] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, (r.Properties ?? {}) as Record<string, unknown>]);
}

/** Logical ids and physical names of what the template declares, before anything exists locally. */
export function secretSpecs(template: CloudFormationTemplate): LocalSecretSpec[] {
  return ofType(template.Resources, 'AWS::SecretsManager::Secret').map(([logicalId, p]) => {
    const gen = p.GenerateSecretString as { PasswordLength?: number; ExcludePunctuation?: boolean } | undefined;
    return {
      logicalId,
      name: typeof p.Name === 'string' ? p.Name : logicalId,
      ...(typeof p.Description === 'string' ? { description: p.Description } : {}),
      ...(gen
        ? { generate: { length: gen.PasswordLength ?? 32, excludePunctuation: gen.ExcludePunctuation ?? false } }
        : {}),
    };
  });
}

export interface ReadTemplateOptions {
  template: CloudFormationTemplate;
  /** The cloud assembly folder (assets are relative to it). */
  assemblyDir: string;
  /** Identities the runtime knows better than the defaults (secret ARNs, the API endpoint). */
  overrides: Record<string, ResourceIdentity>;
}

export function readTemplate(opts: ReadTemplateOptions): LocalModel {
  const env = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT, stackName: 'TokenWarden' };
  const resources: Record<string, ResourceIdentity> = {
    ...defaultIdentities(opts.template, env),
    ...opts.overrides,
  };
  const ctx: ResolveContext = { ...env, resources } as ResolveContext;
  const all = opts.template.Resources;
  const raw = all as Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;

  const functions: LocalFunction[] = ofType(all, 'AWS::Lambda::Function').map(([logicalId, p]) => {
    const assetPath = raw[logicalId]?.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') throw new Error(`function ${logicalId} has no bundled asset in the assembly`);
    const variables = ((p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<
      string,
      unknown
    >;
    const envVars = Object.fromEntries(
      Object.entries(resolveValue(variables, ctx) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
    return {
      logicalId,
      functionName: resources[logicalId]?.ref ?? logicalId,
      assetDir: join(opts.assemblyDir, assetPath),
      handler: String(p.Handler ?? 'index.handler'),
      env: envVars,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
    };
  });

  const tables: CreateTableCommandInput[] = ofType(all, 'AWS::DynamoDB::Table').map(([logicalId, p]) => {
    const gsis = p.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'];
    return {
      TableName: resources[logicalId]?.ref ?? logicalId,
      AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
      BillingMode: 'PAY_PER_REQUEST',
      ...(gsis ? { GlobalSecondaryIndexes: gsis } : {}),
    };
  });

  const stateMachines: LocalStateMachine[] = ofType(all, 'AWS::StepFunctions::StateMachine').map(([logicalId, p]) => {
    const identity = resources[logicalId];
    return {
      logicalId,
      name: identity?.attributes?.Name ?? logicalId,
      arn: identity?.ref ?? logicalId,
      type: String(p.StateMachineType ?? 'STANDARD'),
      definition: resolveStateMachineDefinition(all[logicalId]!, ctx) as Record<string, unknown>,
    };
  });

  // Routes: RouteKey → integration → function; authorizer settings from the template.
  const integrations = new Map(
    ofType(all, 'AWS::ApiGatewayV2::Integration').map(([id, p]) => {
      const uri = p.IntegrationUri as { 'Fn::GetAtt'?: [string, string] } | undefined;
      return [id, uri?.['Fn::GetAtt']?.[0]];
    }),
  );
  const authorizers = new Map(
    ofType(all, 'AWS::ApiGatewayV2::Authorizer').map(([id, p]) => {
      const jwt = p.JwtConfiguration as { Issuer?: unknown; Audience?: unknown } | undefined;
      return [
        id,
        {
          issuer: String(resolveValue(jwt?.Issuer, ctx)),
          audiences: (resolveValue(jwt?.Audience ?? [], ctx) as unknown[]).map(String),
          identitySource: ((p.IdentitySource as string[] | undefined) ?? ['$request.header.Authorization']).join(','),
        },
      ];
    }),
  );
  const routes: HttpRoute[] = ofType(all, 'AWS::ApiGatewayV2::Route').map(([id, p]) => {
    const target = JSON.stringify(p.Target ?? '');
    const integrationId = [...integrations.keys()].find((key) => target.includes(`"${key}"`));
    const fnLogicalId = integrationId ? integrations.get(integrationId) : undefined;
    if (!fnLogicalId) throw new Error(`route ${id} (${String(p.RouteKey)}) has no Lambda integration`);
    const authorizerId = (p.AuthorizerId as { Ref?: string } | undefined)?.Ref;
    const authorizer = p.AuthorizationType === 'JWT' && authorizerId ? authorizers.get(authorizerId) : undefined;
    const scopes = p.AuthorizationScopes as string[] | undefined;
    return {
      routeKey: String(p.RouteKey),
      functionName: resources[fnLogicalId]?.ref ?? fnLogicalId,
      ...(authorizer ? { authorizer: { ...authorizer, ...(scopes ? { authorizationScopes: scopes } : {}) } } : {}),
    };
  });

  // IAM: which actions each function's role was granted (policies attached to the role).
  const roleOfFunction = new Map(
    ofType(all, 'AWS::Lambda::Function').map(([id, p]) => [
      (p.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0],
      resources[id]?.ref ?? id,
    ]),
  );
  const grantedActions = new Map<string, string[]>();
  for (const [, p] of ofType(all, 'AWS::IAM::Policy')) {
    const roles = ((p.Roles as { Ref?: string }[] | undefined) ?? []).map((r) => r.Ref);
    const statements = ((p.PolicyDocument as { Statement?: { Action?: string | string[]; Effect?: string }[] })
      ?.Statement ?? []) as { Action?: string | string[]; Effect?: string }[];
    const actions = statements
      .filter((s) => s.Effect !== 'Deny')
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : s.Action ? [s.Action] : []));
    for (const role of roles) {
      const fn = role ? roleOfFunction.get(role) : undefined;
      if (fn) grantedActions.set(fn, [...(grantedActions.get(fn) ?? []), ...actions]);
    }
  }

  const scheduleGroups = ofType(all, 'AWS::Scheduler::ScheduleGroup').map(([id, p]) =>
    typeof p.Name === 'string' ? p.Name : id,
  );
  const schedules: LocalSchedule[] = ofType(all, 'AWS::Scheduler::Schedule').map(([logicalId, p]) => {
    const resolved = resolveValue(p, ctx) as Record<string, unknown>;
    const target = resolved.Target as { Arn: string; RoleArn: string; Input?: string };
    return {
      logicalId,
      name: typeof resolved.Name === 'string' ? resolved.Name : logicalId,
      groupName: typeof resolved.GroupName === 'string' ? resolved.GroupName : 'default',
      expression: String(resolved.ScheduleExpression),
      ...(typeof resolved.ScheduleExpressionTimezone === 'string'
        ? { timezone: resolved.ScheduleExpressionTimezone }
        : {}),
      ...(typeof resolved.State === 'string' ? { state: resolved.State } : {}),
      target: {
        arn: target.Arn,
        roleArn: target.RoleArn,
        ...(target.Input !== undefined ? { input: target.Input } : {}),
      },
    };
  });

  const rotationPermissions: LocalRotationPermission[] = ofType(all, 'AWS::Lambda::Permission')
    .map(([, p]) => resolveValue(p, ctx) as Record<string, unknown>)
    .filter((p) => p.Principal === 'secretsmanager.amazonaws.com' && p.Action === 'lambda:InvokeFunction')
    .map((p) => ({
      functionName: String(p.FunctionName).split(':').pop() ?? '',
      ...(typeof p.SourceAccount === 'string' ? { sourceAccount: p.SourceAccount } : {}),
      ...(typeof p.SourceArn === 'string' ? { sourceArn: p.SourceArn } : {}),
    }));

  const rotationSchedules: LocalRotationSchedule[] = ofType(all, 'AWS::SecretsManager::RotationSchedule').map(
    ([logicalId, p]) => {
      const resolved = resolveValue(p, ctx) as Record<string, unknown>;
      const rules = (resolved.RotationRules ?? {}) as LocalRotationSchedule['rules'];
      return {
        logicalId,
        secretId: String(resolved.SecretId),
        rotationLambdaArn: String(resolved.RotationLambdaARN),
        rules,
      };
    },
  );

  return {
    functions,
    tables,
    secrets: secretSpecs(opts.template),
    rotationPermissions,
    rotationSchedules,
    stateMachines,
    routes,
    grantedActions,
    scheduleGroups,
    schedules,
  };
}

/**
 * Whether Secrets Manager may invoke the function `functionArn` to rotate the secret `secretArn`: the function is in
 * the template and one of its permissions names Secrets Manager, this account (if it names one) and an ARN pattern
 * that matches the secret (if it names one), as Lambda evaluates its resource policy.
 */
export function mayRotateWith(
  model: Pick<LocalModel, 'functions' | 'rotationPermissions'>,
  functionArn: string,
  secretArn: string,
) {
  const name = functionArn.split(':').pop() ?? '';
  if (!model.functions.some((fn) => fn.functionName === name)) return false;
  return model.rotationPermissions.some(
    (p) =>
      p.functionName === name &&
      (p.sourceAccount === undefined || p.sourceAccount === LOCAL_ACCOUNT) &&
      (p.sourceArn === undefined || arnLike(p.sourceArn, secretArn)),
  );
}

/** IAM's `ArnLike`: `*` matches any run of characters, `?` any one. */
function arnLike(pattern: string, arn: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(arn);
}
