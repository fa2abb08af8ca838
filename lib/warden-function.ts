import { platform } from 'node:os';
import { join } from 'node:path';
import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, type IFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TOKEN_SECRET_NAME_PREFIX } from './token-store';

/** Per-token rotation schedules are named `rotate-<tokenId>` (functions/adapters/aws/rotation-schedules.ts). */
export const ROTATION_SCHEDULE_PREFIX = 'rotate-';

/** Repository root: entries, the lock file and the bundling project root are resolved against it. */
export const REPO_ROOT = join(__dirname, '..');

/**
 * Modules the bundles use in place of SDK modules, relative to {@link REPO_ROOT}: the default credential chain becomes
 * environment-only (Lambda and the local runtime both provide credentials there), and the event-stream codecs, which
 * no operation the functions call needs, are left out.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': 'functions/bundling/env-credentials.ts',
  '@smithy/core/event-streams': 'functions/bundling/no-event-streams.ts',
};

/** Read or read-write access to the records table. */
export type TableAccess = 'read' | 'write';
/** Append-only writes (conditional `PutItem`, each record also published as an event) or reads of the audit table. */
export type AuditAccess = 'append' | 'read';
/**
 * Access to token secrets (`token-warden.*`): `create` makes (or restores) a secret, tags it, sets who may read it
 * and stages values in it; `put` stages values in existing secrets (nothing else); `read` reads values; `stage`
 * moves staging labels; `narrow` replaces the resource policy (never a public one); `unshare` removes it (every
 * reader); `delete` schedules deletion; `rotate` configures Secrets Manager's rotation (`RotateSecret`).
 */
export type TokenSecretAccess = 'create' | 'put' | 'read' | 'stage' | 'narrow' | 'unshare' | 'delete' | 'rotate';
/** `start` executions (with the ARN in the environment) or `respond` to waiting tasks with their task token. */
export type StateMachineAccess = 'start' | 'respond';
/**
 * Access to the per-token rotation schedules: `write` creates or moves them (and passes the scheduler role to
 * EventBridge Scheduler); `delete` removes them.
 */
export type RotationScheduleAccess = 'write' | 'delete';

/** The rotation schedules as functions see them (provided by `RotationSchedules`). */
export interface RotationScheduleTarget {
  /** Name of the schedule group (`SCHEDULE_GROUP_NAME`): a literal, as the grants name it in ARN patterns. */
  readonly groupName: string;
  /** Role the schedules run as (`SCHEDULER_ROLE_ARN`). */
  readonly role: IRole;
  /** ARN of the state machine the schedules start (`ROTATION_STATE_MACHINE_ARN`). */
  readonly stateMachineArn: string;
}

/** Properties of {@link WardenFunction}. */
export interface WardenFunctionProps {
  /** Handler module relative to the repository root, e.g. `functions/api/health.ts`. */
  readonly entry: string;
  /**
   * Name of the handler export in `entry`.
   * @default 'handler'
   */
  readonly handler?: string;
  /** Lambda description. */
  readonly description: string;
  /** Absolute path of the validated policy (JSON); bundled beside the handler as `policy.json`. */
  readonly policyFile: string;
  /** Customer managed key: encrypts the log group; token secrets are created with it. */
  readonly encryptionKey: IKey;
  /**
   * Lambda timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * `POWERTOOLS_SERVICE_NAME`.
   * @default 'token-warden'
   */
  readonly serviceName?: string;
  /**
   * Further commands run on the host once the bundle is written (after the policy is copied in), given the bundle's
   * output directory: e.g. building files the handler reads from beside itself.
   * @default - none
   */
  readonly afterBundling?: (outputDir: string) => string[];
}

const KMS_READ = ['kms:Decrypt', 'kms:DescribeKey'];
// The expansions of CDK's `kms:ReEncrypt*` / `kms:GenerateDataKey*`, named one by one so no wildcard is granted.
const KMS_WRITE = [
  ...KMS_READ,
  'kms:Encrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
];

/**
 * A Token Warden Lambda function with the house defaults (Node.js 22 on arm64, X-Ray, source maps, a KMS-encrypted
 * log group, the validated policy bundled as `policy.json`) and `bind*` helpers that add an environment variable
 * together with the grant it needs, so neither can be forgotten. The role starts empty: no managed policies.
 */
export class WardenFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** `entry` as given (relative to the repository root). */
  readonly entry: string;
  /** Name of the handler export. */
  readonly handlerExport: string;
  private readonly key: IKey;

  constructor(scope: Construct, id: string, props: WardenFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    this.handlerExport = props.handler ?? 'handler';
    this.key = props.encryptionKey;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: props.encryptionKey,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Token Warden ${props.entry}`,
    });
    this.logGroup.grantWrite(this.role);

    const copy = platform() === 'win32' ? 'copy' : 'cp';
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      handler: this.handlerExport,
      description: props.description,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 512,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POLICY_FILE: 'policy.json',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'token-warden',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: 'TokenWarden',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // Everything is bundled, the AWS SDK included, so the deployed code runs the versions the tests ran.
        externalModules: [],
        minify: true,
        sourceMap: true,
        // Stack traces need the mappings, not a copy of every source file: Node parses the whole map at load
        // (NODE_OPTIONS=--enable-source-maps), so leaving the sources out shortens every cold start.
        sourcesContent: false,
        // ES module builds first, so esbuild can drop what a handler does not use (the SDK clients above all).
        mainFields: ['module', 'main'],
        format: OutputFormat.CJS,
        target: 'node22',
        // Paths are resolved from the project root, where esbuild runs.
        esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([name, path]) => `${name}=./${path}`) },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // esbuild runs on the host (it is a dev dependency), so the policy file's host path is readable here.
          afterBundling: (_inputDir: string, outputDir: string) => [
            `${copy} "${props.policyFile}" "${join(outputDir, 'policy.json')}"`,
            ...(props.afterBundling?.(outputDir) ?? []),
          ],
        },
      },
    });
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the runtime the handlers and their dependencies (middy 7, Powertools 2) are built and ' +
          'tested for; moving to a newer runtime is a deliberate, tested change.',
      },
    );
  }

  /** Sets a plain configuration variable (no grant involved). */
  addEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * `TABLE_NAME` and access to the records table and the named indexes (each index ARN is listed: no `index/*`).
   */
  bindTable(table: ITable, access: TableAccess, indexArns: readonly string[]): this {
    this.function.addEnvironment('TABLE_NAME', table.tableName);
    const read = ['dynamodb:GetItem', 'dynamodb:Query'];
    const write = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access === 'write' ? [...read, ...write] : read,
        resources: [table.tableArn, ...indexArns],
      }),
    );
    this.grantTableKey(table, access === 'write' ? KMS_WRITE : KMS_READ);
    return this;
  }

  /**
   * `TABLE_NAME`, `GetItem` and `BatchGetItem` on the records table only for items whose partition key matches one of
   * `readKeys` (no `Query`, no index), and `PutItem`, `UpdateItem` and `DeleteItem` only on items whose partition
   * key starts `NOTE#` (the notifier's delivery markers).
   */
  bindNotificationMarkers(table: ITable, readKeys: readonly string[]): this {
    this.function.addEnvironment('TABLE_NAME', table.tableName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...readKeys, 'NOTE#*'] } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['NOTE#*'] } },
      }),
    );
    this.grantTableKey(table, KMS_WRITE);
    return this;
  }

  /**
   * `AUDIT_TABLE_NAME` and append-only (`PutItem`) access to the audit table, or `Query` access to read it. The
   * audit adapter publishes every record it appends as a lifecycle event, so `append` also binds the event bus
   * ({@link bindEvents}): an appender without the bus could not start.
   */
  bindAuditTable(table: ITable, access: 'read'): this;
  bindAuditTable(table: ITable, access: 'append', events: IEventBus): this;
  bindAuditTable(table: ITable, access: AuditAccess, events?: IEventBus): this {
    this.function.addEnvironment('AUDIT_TABLE_NAME', table.tableName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access === 'append' ? ['dynamodb:PutItem'] : ['dynamodb:Query'],
        resources: [table.tableArn],
      }),
    );
    this.grantTableKey(table, access === 'append' ? KMS_WRITE : KMS_READ);
    if (events) this.bindEvents(events);
    return this;
  }

  /** `EVENT_BUS_NAME` and `events:PutEvents` on that bus only. */
  bindEvents(bus: IEventBus): this {
    this.function.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    bus.grantPutEventsTo(this.function);
    return this;
  }

  /** `envName` = the secret's ARN (or name, if imported by name) and read access to it. */
  bindSecret(envName: string, secret: ISecret): this {
    this.function.addEnvironment(envName, secret.secretFullArn ?? secret.secretName);
    secret.grantRead(this.function);
    return this;
  }

  /**
   * `secretsmanager:GetSecretValue` on the chat channels' webhook secrets (`webhookSecretName` of each policy
   * channel, any of Secrets Manager's six-character suffixes), nothing else. No variable: the names are in the
   * bundled policy. None when the policy has no channel.
   */
  bindChatWebhooks(secretNames: readonly string[]): this {
    const names = [...new Set(secretNames)].sort();
    if (names.length === 0) return this;
    const stack = Stack.of(this);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: names.map((name) =>
          stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${name}-??????`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      }),
    );
    return this;
  }

  /** `QUEUE_URL` and `sqs:ChangeMessageVisibility` on that queue only (a message's back-off before it returns). */
  bindQueueVisibility(queue: IQueue): this {
    this.function.addEnvironment('QUEUE_URL', queue.queueUrl);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:ChangeMessageVisibility'], resources: [queue.queueArn] }),
    );
    return this;
  }

  /**
   * Atlassian endpoints and the organization API key: `ORG_API_KEY_SECRET_ID`, `ATLASSIAN_API_BASE_URL`,
   * `ATLASSIAN_SITE_BASE_URL`.
   */
  bindAtlassian(orgApiKey: ISecret, urls: { apiBaseUrl: string; siteBaseUrl: string }): this {
    this.bindSecret('ORG_API_KEY_SECRET_ID', orgApiKey);
    this.function.addEnvironment('ATLASSIAN_API_BASE_URL', urls.apiBaseUrl);
    this.function.addEnvironment('ATLASSIAN_SITE_BASE_URL', urls.siteBaseUrl);
    return this;
  }

  /**
   * Access to a state machine: `start` adds `envName` (the ARN) and `states:StartExecution`; `respond` adds
   * `states:SendTaskSuccess`/`SendTaskFailure`/`SendTaskHeartbeat` (task tokens carry the execution, so no ARN).
   */
  bindStateMachine(
    machine: IStateMachine,
    access: readonly StateMachineAccess[],
    envName = 'ISSUANCE_STATE_MACHINE_ARN',
  ): this {
    if (access.includes('start')) {
      this.function.addEnvironment(envName, machine.stateMachineArn);
      machine.grantStartExecution(this.function);
    }
    if (access.includes('respond')) machine.grantTaskResponse(this.function);
    return this;
  }

  /**
   * `states:StopExecution` on every execution of the state machine named `stateMachineName` (the handler derives
   * execution ARNs from the machine ARN it was given with {@link bindStateMachine}'s `start`).
   */
  bindStopExecutions(stateMachineName: string): this {
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['states:StopExecution'], resources: [executions] }));
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName}:*]`,
      reason:
        'Executions are started at run time with names derived from the token (<tokenId>-g<generation>-a<attempt>), ' +
        `so their ARNs are unknown at deploy time; the grant covers executions of ${stateMachineName} only.`,
    });
    return this;
  }

  /**
   * Access to the per-token rotation schedules (`rotate-*` in the group). Every access sets the schedules adapter's
   * configuration, which it reads as one: `SCHEDULE_GROUP_NAME`, `SCHEDULER_ROLE_ARN` and
   * `ROTATION_STATE_MACHINE_ARN` (names and ARNs only, no grant). `write` allows `scheduler:CreateSchedule` and
   * `UpdateSchedule`, and `iam:PassRole` on the scheduler role to EventBridge Scheduler only; `delete` allows
   * `scheduler:DeleteSchedule`. No function can touch the group's other schedules (the daily sweep).
   */
  bindRotationSchedules(schedules: RotationScheduleTarget, ...access: RotationScheduleAccess[]): this {
    const { groupName } = schedules;
    if (Token.isUnresolved(groupName)) throw new Error('bindRotationSchedules: groupName must be a literal name');
    if (access.length === 0) throw new Error('bindRotationSchedules: name at least one access (write, delete)');
    const tokenSchedules = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${groupName}/${ROTATION_SCHEDULE_PREFIX}*`,
    });
    const actions: string[] = [];
    this.function.addEnvironment('SCHEDULE_GROUP_NAME', groupName);
    this.function.addEnvironment('SCHEDULER_ROLE_ARN', schedules.role.roleArn);
    this.function.addEnvironment('ROTATION_STATE_MACHINE_ARN', schedules.stateMachineArn);
    if (access.includes('write')) {
      actions.push('scheduler:CreateSchedule', 'scheduler:UpdateSchedule');
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [schedules.role.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      );
    }
    if (access.includes('delete')) actions.push('scheduler:DeleteSchedule');
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [tokenSchedules] }));
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/${ROTATION_SCHEDULE_PREFIX}*]`,
      reason:
        `Rotation schedules are created at run time, one per token (${ROTATION_SCHEDULE_PREFIX}<tokenId>), so their ` +
        `names are unknown at deploy time; the grant is bounded to ${ROTATION_SCHEDULE_PREFIX}* schedules of the ` +
        `${groupName} group, which leaves the daily sweep schedule out of reach.`,
    });
    return this;
  }

  /**
   * `FROM_EMAIL` and `ses:SendEmail` from that address only: on its email identity and on its domain identity
   * (SES authorizes against whichever of the two is verified).
   */
  bindMail(fromEmail: string): this {
    this.function.addEnvironment('FROM_EMAIL', fromEmail);
    const stack = Stack.of(this);
    const domain = fromEmail.slice(fromEmail.lastIndexOf('@') + 1);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [fromEmail, domain].map((identity) =>
          stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
        ),
        conditions: { StringEquals: { 'ses:FromAddress': fromEmail } },
      }),
    );
    return this;
  }

  /**
   * Access to token secrets (`token-warden.*`) and to the key through Secrets Manager for those secrets only.
   * `create` also sets `SECRETS_KMS_KEY_ID`.
   */
  bindTokenSecrets(...access: TokenSecretAccess[]): this {
    const stack = Stack.of(this);
    const secretArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${TOKEN_SECRET_NAME_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const actions = new Set<string>();
    const keyActions = new Set<string>();
    if (access.includes('create')) {
      this.function.addEnvironment('SECRETS_KMS_KEY_ID', this.key.keyArn);
      for (const action of ['CreateSecret', 'PutSecretValue', 'TagResource', 'RestoreSecret', 'DeleteResourcePolicy']) {
        actions.add(`secretsmanager:${action}`);
      }
      keyActions.add('kms:GenerateDataKey').add('kms:Decrypt');
    }
    if (access.includes('create') || access.includes('narrow')) {
      // Readers are granted through the secret's resource policy, which must never make the secret public.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['secretsmanager:PutResourcePolicy'],
          resources: [secretArn],
          conditions: { Bool: { 'secretsmanager:BlockPublicPolicy': 'true' } },
        }),
      );
    }
    if (access.includes('put')) {
      actions.add('secretsmanager:PutSecretValue');
      keyActions.add('kms:GenerateDataKey').add('kms:Decrypt');
    }
    if (access.includes('read')) {
      actions.add('secretsmanager:GetSecretValue');
      keyActions.add('kms:Decrypt');
    }
    if (access.includes('stage')) actions.add('secretsmanager:UpdateSecretVersionStage');
    if (access.includes('unshare')) actions.add('secretsmanager:DeleteResourcePolicy');
    if (access.includes('delete')) actions.add('secretsmanager:DeleteSecret');
    if (access.includes('rotate')) actions.add('secretsmanager:RotateSecret');
    actions.add('secretsmanager:DescribeSecret');
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: [...actions].sort(), resources: [secretArn] }));
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${TOKEN_SECRET_NAME_PREFIX}*]`,
      reason:
        'Token secrets are created at run time, one per issued token, so their names are unknown at deploy time; ' +
        `the grant is bounded to the ${TOKEN_SECRET_NAME_PREFIX}* prefix, which only Token Warden's secrets use.`,
    });
    if (keyActions.size > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [...keyActions].sort(),
          resources: [this.key.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` },
            StringLike: { 'kms:EncryptionContext:SecretARN': secretArn },
          },
        }),
      );
    }
    return this;
  }

  /**
   * What the rotation function of `secret` (the link-signing key) does to it: reads it (`secretName` in `envName`)
   * at any stage, stores a new version (`PutSecretValue`, with the key's `kms:GenerateDataKey` through Secrets
   * Manager) and moves `AWSCURRENT` to it (`UpdateSecretVersionStage`). Nothing on any other secret.
   */
  bindSecretRotation(envName: string, secret: ISecret, key: IKey): this {
    this.bindSecret(envName, secret);
    const stack = Stack.of(this);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: [secret.secretArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
      }),
    );
    return this;
  }

  /**
   * Lets the function configure token secrets to rotate with `rotationFunction` (`SECRET_ROTATION_FUNCTION_ARN`):
   * `secretsmanager:RotateSecret` on token secrets, and `lambda:InvokeFunction` on that function only, which
   * `RotateSecret` requires of its caller.
   */
  bindTokenSecretRotation(rotationFunction: IFunction): this {
    this.function.addEnvironment('SECRET_ROTATION_FUNCTION_ARN', rotationFunction.functionArn);
    this.bindTokenSecrets('rotate');
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [rotationFunction.functionArn] }),
    );
    return this;
  }

  /**
   * Makes this function the rotation function of token secrets: Secrets Manager may invoke it, on behalf of this
   * account's secrets named `token-warden.*` only (`aws:SourceAccount`, `aws:SourceArn`).
   */
  allowTokenSecretRotation(): this {
    const stack = Stack.of(this);
    this.function.addPermission('SecretsManagerRotation', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: stack.account,
      sourceArn: stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${TOKEN_SECRET_NAME_PREFIX}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    });
    return this;
  }

  private grantTableKey(table: ITable, actions: readonly string[]): void {
    if (!table.encryptionKey) return;
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [...actions],
        resources: [table.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}
