/**
 * The local runtime: the whole system on one machine, built from the synthesized CDK template. It runs the same
 * bundled Lambda handlers and the same state machines as AWS, against emulated AWS APIs on one endpoint, a fake
 * Atlassian, a local identity provider and a simulated clock.
 */
import './polyfills';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CONTEXT_DEFAULTS, loadPolicyFile } from '../lib/config';
import type { CloudFormationTemplate, ResourceIdentity } from '../lib/synth/resolve-template';
import { createHttpApi, type HttpApi } from './api-gateway';
import { createDynamoDb } from './aws/dynamodb';
import { createAwsEdge, listenOn, supportedOperations } from './aws/edge';
import { createEventBridge } from './aws/eventbridge';
import type { AwsRequest, AwsService, CallRecord } from './aws/protocol';
import { createScheduler } from './aws/scheduler';
import { LocalSecretsManager } from './aws/secrets-manager';
import { createSesV2 } from './aws/sesv2';
import { createSqs } from './aws/sqs';
import { LocalStepFunctions } from './aws/stepfunctions';
import { seedChatSecrets } from './chat-secrets';
import { SimulatedClock } from './clock';
import { provisionMessaging } from './event-delivery';
import { createFakeAtlassian, DEMO_SEED } from './fake-atlassian';
import { loopbackHostProblem } from './http-guard';
import { LambdaRunner, SANDBOX_ACCESS_KEY_PREFIX } from './lambda-runner';
import { createLocalRoutes } from './local-routes';
import { createMailServer } from './mail/mail-server';
import { MailStore } from './mail/mail-store';
import { queueIdentities, readMessaging } from './messaging';
import { MetricsLog } from './metrics-log';
import { createOidcProvider, seededGroupsFor } from './oidc';
import { checkGrantedOperations } from './operations';
import { startSqsPollers } from './sqs-event-source';
import { synthesize } from './synth';
import { type LocalModel, mayRotateWith, readTemplate } from './template';
import { WebhookSink } from './webhooks';

export interface RuntimeOptions {
  apiPort: number;
  awsPort: number;
  atlassianPort: number;
  mailPort: number;
  dataDir: string;
  reset?: boolean;
  /** Policy file (relative to the project); @default the app's `policy` context */
  policy?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Runtime {
  urls: { api: string; aws: string; atlassian: string; mail: string };
  clock: SimulatedClock;
  /** The seeded org API key of the fake Atlassian (also in Secrets Manager). */
  orgApiKey: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const PROJECT = resolve(__dirname, '..');
const ORG_KEY_SECRET_DEFAULT = 'token-warden/atlassian-org-api-key';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Binds a port at once (so a port in use fails start-up early), answering 503 until the runtime is up. */
type Listener = (req: IncomingMessage, res: ServerResponse) => void;

async function reservePort(port: number, name: string): Promise<{ server: Server; serve: (h: Listener) => void }> {
  let handler: Listener | undefined;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    // Each part checks Host itself once it serves; until then this placeholder does.
    const hostProblem = loopbackHostProblem(req);
    if (hostProblem) return json(res, 403, { message: `Forbidden: ${hostProblem}` });
    if ((req.url ?? '').startsWith('/health')) return json(res, 503, { status: 'starting' });
    json(res, 503, { message: `${name} is starting` });
  });
  try {
    await listenOn(server, port, HOST);
  } catch (error) {
    throw new Error(`cannot start the ${name}: ${(error as Error).message}`);
  }
  return {
    server,
    serve: (h) => {
      handler = h;
    },
  };
}

export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const log = opts.log ?? (() => {});
  const dataDir = resolve(opts.dataDir);
  if (opts.reset) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const fn of closers.reverse()) {
      try {
        await fn();
      } catch {
        // keep closing the rest
      }
    }
  };

  try {
    const urls = {
      api: `http://${HOST}:${opts.apiPort}`,
      aws: `http://${HOST}:${opts.awsPort}`,
      atlassian: `http://${HOST}:${opts.atlassianPort}`,
      mail: `http://${HOST}:${opts.mailPort}`,
    };
    // Every port first: a port in use is a clear error before any work.
    const api = await reservePort(opts.apiPort, 'HTTP API');
    closers.push(() => closeServer(api.server));
    const aws = await reservePort(opts.awsPort, 'AWS endpoint');
    closers.push(() => closeServer(aws.server));
    const atl = await reservePort(opts.atlassianPort, 'fake Atlassian');
    closers.push(() => closeServer(atl.server));
    const mail = await reservePort(opts.mailPort, 'mail server');
    closers.push(() => closeServer(mail.server));

    const clock = new SimulatedClock(join(dataDir, 'clock.json'));
    closers.push(() => clock.stop());
    const now = () => clock.now();

    // The org API key the fake Atlassian accepts, kept across restarts.
    const orgKeyFile = join(dataDir, 'atlassian-org-key');
    if (!existsSync(orgKeyFile))
      writeFileSync(orgKeyFile, `ATCTT3x${randomBytes(24).toString('base64url')}`, { mode: 0o600 });
    const orgApiKey = readFileSync(orgKeyFile, 'utf8').trim();

    log('synthesizing the CDK app …');
    const { template, assemblyDir, context } = await synthesize({
      outdir: join(dataDir, 'cdk.out'),
      context: {
        jwtIssuer: `${urls.api}/local/oidc`,
        approvalBaseUrl: urls.api,
        atlassianApiBaseUrl: urls.atlassian,
        atlassianSiteBaseUrl: urls.atlassian,
        ...(opts.policy ? { policy: opts.policy } : {}),
      },
    });

    // Call log: every AWS, Lambda and Atlassian call.
    const calls: CallRecord[] = [];
    const callLogFile = join(dataDir, 'calls.jsonl');
    const record = (entry: CallRecord) => {
      calls.push(entry);
      appendFileSync(callLogFile, `${JSON.stringify(entry)}\n`);
    };

    // AWS services behind one endpoint.
    // Rotation by a Lambda function: the functions and their permissions come from the template (read below).
    let model: LocalModel | undefined;
    const secrets = new LocalSecretsManager({
      now,
      file: join(dataDir, 'secretsmanager.json'),
      invokeRotation: async (functionArn, event) => {
        if (!runner) throw new Error('functions are not ready');
        await runner.invoke(functionArn.split(':').pop() ?? '', event);
      },
      canInvokeRotation: (functionArn, secretArn) =>
        model !== undefined && mayRotateWith(model, functionArn, secretArn),
      track: (work) => clock.track(work),
    });
    const dynamodb = createDynamoDb({ path: join(dataDir, 'dynamodb') });
    closers.push(() => dynamodb.close());
    const mailStore = new MailStore({ file: join(dataDir, 'mail.json'), now });
    const ses = createSesV2({ mailStore });
    // EventBridge rules deliver to SQS queues; event source mappings poll them (both from the template, below).
    const sqs = createSqs({ clock, file: join(dataDir, 'sqs.json'), baseUrl: urls.aws });
    closers.push(() => sqs.close());
    const events = createEventBridge({
      file: join(dataDir, 'events.json'),
      now,
      deliver: (target, text) => {
        sqs.sendToArn(target.arn, text);
      },
    });
    const sfnClient = new SFNClient({
      endpoint: urls.aws,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const scheduler = createScheduler({
      clock,
      file: join(dataDir, 'scheduler.json'),
      fireTarget: async (target) => {
        const input = target.input ?? '{}';
        if (/:stateMachine:/.test(target.arn)) {
          await sfnClient.send(new StartExecutionCommand({ stateMachineArn: target.arn, input }));
        } else if (target.arn.endsWith(':aws-sdk:sfn:startExecution')) {
          const params = JSON.parse(input) as { StateMachineArn: string; Name?: string; Input?: string };
          await sfnClient.send(
            new StartExecutionCommand({
              stateMachineArn: params.StateMachineArn,
              name: params.Name,
              input: params.Input,
            }),
          );
        } else if (/^arn:aws:lambda:[^:]+:\d+:function:[^:]+$/.test(target.arn)) {
          if (!runner) throw new Error('functions are not ready');
          await runner.invoke(target.arn.split(':').pop() ?? '', JSON.parse(input));
        } else {
          throw new Error(`schedule target ${target.arn} is not supported locally`);
        }
      },
    });
    closers.push(() => scheduler.close());

    let runner: LambdaRunner | undefined;
    const functionLog = join(dataDir, 'logs', 'functions.log');
    const metrics = new MetricsLog();
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    const sfn = new LocalStepFunctions({
      clock,
      file: join(dataDir, 'stepfunctions.json'),
      invoke: async (call) => {
        if (!runner) throw new Error('functions are not ready');
        const name = call.functionName.split(':').pop() ?? call.functionName;
        return runner.invoke(name, call.payload, { executionId: call.executionArn });
      },
    });
    closers.push(() => sfn.close());

    const services: AwsService[] = [secrets, dynamodb, ses, events, scheduler, sfn, sqs];
    // Calls from a sandbox carry its own access key id in their SigV4 signature: that names the execution.
    const edge = createAwsEdge({
      services,
      callLog: { record },
      now,
      executionIdOf: (req) => {
        const key = accessKeyOf(req);
        return key && runner ? runner.executionIdOfAccessKey(key) : undefined;
      },
      // Sandboxes run on the simulated clock; anyone else (the CLI, tests, this process) on the wall clock.
      dateFor: (req) => (accessKeyOf(req)?.startsWith(SANDBOX_ACCESS_KEY_PREFIX) ? clock.now() : new Date()),
    });
    aws.serve(edge.handler);

    // Secrets from the template, and the org API key an admin would create by hand.
    const sm = new SecretsManagerClient({
      endpoint: urls.aws,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    closers.push(() => sm.destroy());
    const orgKeySecretName = String(context.orgApiKeySecretName ?? ORG_KEY_SECRET_DEFAULT);
    const ensureSecret = async (
      name: string,
      value: () => string,
      description: string,
      tags: Record<string, string> = {},
    ) => {
      try {
        return (await sm.send(new DescribeSecretCommand({ SecretId: name }))).ARN ?? '';
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
        const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
        const created = await sm.send(
          new CreateSecretCommand({ Name: name, SecretString: value(), Description: description, Tags }),
        );
        return created.ARN ?? '';
      }
    };
    // As an admin would: the key's expiry (a year, Atlassian's maximum) as a tag, which the sweep warns about.
    await ensureSecret(orgKeySecretName, () => orgApiKey, 'Atlassian organization API key (local fake)', {
      'token-warden:expires-at': `${new Date(clock.nowMs() + 365 * 86_400_000).toISOString().slice(0, 19)}Z`,
    });
    // The policy's chat channels: their webhook secrets point at the local sink, as an admin would point them at Slack.
    const policyFile = String(context.policy ?? CONTEXT_DEFAULTS.policy);
    const chatSecrets = await seedChatSecrets({
      secretsManager: sm,
      channels: loadPolicyFile(policyFile, PROJECT).notifications.chat,
      apiUrl: urls.api,
    });
    // The sink's name, not the secret's value: output is scanned for secret values like any other artifact.
    for (const seeded of chatSecrets.filter((s) => s.action !== 'kept')) {
      log(`chat webhook secret ${seeded.secretName} ${seeded.action} for the sink /local/webhooks/${seeded.sinkName}`);
    }
    const overrides: Record<string, ResourceIdentity> = {};
    const parsedTemplate = template as CloudFormationTemplate;
    for (const [logicalId, resource] of Object.entries(parsedTemplate.Resources)) {
      if (resource.Type === 'AWS::SecretsManager::Secret') {
        const p = resource.Properties ?? {};
        const name = typeof p.Name === 'string' ? p.Name : logicalId;
        const gen = p.GenerateSecretString as { PasswordLength?: number } | undefined;
        const arn = await ensureSecret(
          name,
          () =>
            randomBytes(64)
              .toString('base64url')
              .slice(0, gen?.PasswordLength ?? 64),
          String(p.Description ?? ''),
        );
        overrides[logicalId] = { ref: arn, attributes: { Id: name } };
      }
      if (resource.Type === 'AWS::ApiGatewayV2::Api') {
        overrides[logicalId] = { ref: logicalId, attributes: { ApiId: logicalId, ApiEndpoint: urls.api } };
      }
    }
    Object.assign(overrides, queueIdentities(parsedTemplate, urls.aws));
    model = readTemplate({ template: parsedTemplate, assemblyDir, overrides });
    const messaging = readMessaging(parsedTemplate, overrides);
    const missing = checkGrantedOperations(model.grantedActions, supportedOperations(services));
    if (missing.length > 0) {
      throw new Error(`the local AWS endpoint does not emulate operations the functions need: ${missing.join(', ')}`);
    }

    // Tables.
    const ddb = new DynamoDBClient({
      endpoint: urls.aws,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    closers.push(() => ddb.destroy());
    for (const table of model.tables) {
      try {
        await ddb.send(new CreateTableCommand(table));
      } catch (error) {
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      }
    }

    // Queues (dead-letter queues first) and the rules that deliver to them.
    await provisionMessaging({ messaging, events, awsUrl: urls.aws });

    // Schedules declared in the template (the daily sweep, the inventory).
    const schedulerClient = new SchedulerClient({
      endpoint: urls.aws,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    closers.push(() => schedulerClient.destroy());
    for (const group of model.scheduleGroups) {
      try {
        await schedulerClient.send(new CreateScheduleGroupCommand({ Name: group }));
      } catch (error) {
        if ((error as Error).name !== 'ConflictException') throw error;
      }
    }
    for (const schedule of model.schedules) {
      const params = {
        Name: schedule.name,
        GroupName: schedule.groupName,
        ScheduleExpression: schedule.expression,
        ...(schedule.timezone ? { ScheduleExpressionTimezone: schedule.timezone } : {}),
        FlexibleTimeWindow: { Mode: 'OFF' as const },
        ...(schedule.state ? { State: schedule.state as 'ENABLED' | 'DISABLED' } : {}),
        Target: {
          Arn: schedule.target.arn,
          RoleArn: schedule.target.roleArn,
          ...(schedule.target.input !== undefined ? { Input: schedule.target.input } : {}),
        },
      };
      try {
        await schedulerClient.send(new CreateScheduleCommand(params));
      } catch (error) {
        if ((error as Error).name !== 'ConflictException') throw error;
        await schedulerClient.send(new UpdateScheduleCommand(params));
      }
    }

    // Functions and state machines.
    runner = new LambdaRunner({
      // The sandboxes run on this machine's Node 20, not Lambda's Node 22: silence the SDK's notice about it.
      functions: model.functions.map((fn) => ({
        ...fn,
        env: {
          ...fn.env,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          // `TW_LOG_LEVEL=DEBUG npm start` turns the functions' logging up locally (the template says INFO).
          ...(process.env.TW_LOG_LEVEL ? { POWERTOOLS_LOG_LEVEL: process.env.TW_LOG_LEVEL } : {}),
        },
      })),
      clockOffsetMs: () => clock.nowMs() - Date.now(),
      awsEndpointUrl: urls.aws,
      onLog: (fn, line) => {
        appendFileSync(functionLog, `${fn} ${line}\n`);
        metrics.add(fn, line);
      },
      onInvoke: (r) =>
        record({
          at: clock.now().toISOString(),
          service: 'lambda',
          operation: `Invoke ${r.functionName}`,
          durationMs: r.durationMs,
          status: r.error ? 500 : 200,
          ...(r.executionId ? { executionId: r.executionId } : {}),
          ...(r.error ? { errorCode: r.error } : {}),
          memoryMb: r.memoryMb,
        } as CallRecord),
    });
    closers.push(() => runner?.close());
    for (const machine of model.stateMachines) {
      sfn.registerStateMachine({
        arn: machine.arn,
        name: machine.name,
        definition: machine.definition,
        type: 'STANDARD',
      });
    }

    // Rotation the template configures for its own secrets (the link-signing key). CloudFormation rotates at once when
    // it creates the schedule; locally the configuration is set without rotating at every start (RotateImmediately
    // false tests it, as Secrets Manager does), and `aws secretsmanager rotate-secret` rotates it.
    for (const schedule of model.rotationSchedules) {
      const described = await sm.send(new DescribeSecretCommand({ SecretId: schedule.secretId }));
      const same =
        described.RotationEnabled &&
        described.RotationLambdaARN === schedule.rotationLambdaArn &&
        described.RotationRules?.AutomaticallyAfterDays === schedule.rules.AutomaticallyAfterDays;
      if (same) continue;
      await sm.send(
        new RotateSecretCommand({
          SecretId: schedule.secretId,
          RotationLambdaARN: schedule.rotationLambdaArn,
          RotationRules: schedule.rules,
          RotateImmediately: false,
        }),
      );
    }

    // The fake Atlassian and the mail page.
    const fake = createFakeAtlassian({
      now,
      orgApiKey,
      seed: DEMO_SEED,
      stateFile: join(dataDir, 'atlassian.json'),
      onCall: (c) =>
        record({
          at: clock.now().toISOString(),
          service: 'atlassian',
          operation: `${c.method} ${c.route}`,
          durationMs: c.durationMs,
          status: c.status,
        }),
    });
    atl.serve(fake.handler);
    mail.serve(createMailServer({ store: mailStore }).handler);

    // The HTTP API, from the template's routes, with the local-only routes beside it.
    const webhooks = new WebhookSink({ file: join(dataDir, 'webhooks.json'), now });
    const oidc = await createOidcProvider({
      issuer: `${urls.api}/local/oidc`,
      dataDir,
      groupsFor: seededGroupsFor,
      now: () => clock.nowMs(),
    });
    const httpApi: HttpApi = createHttpApi({
      routes: model.routes,
      invoke: (fn, event) => (runner as LambdaRunner).invoke(fn, event),
      // Like the deployed stage's access log: method, route, path (never the query string), status, latency.
      onAccess: (entry) => appendFileSync(join(dataDir, 'logs', 'api-access.log'), `${JSON.stringify(entry)}\n`),
      localRoutes: createLocalRoutes({
        clock,
        oidc,
        calls: () => calls,
        events: () => events.listEvents(),
        metrics: (name) => metrics.list(name),
        webhooks,
      }),
    });
    api.serve(httpApi.handler);

    await sfn.resume();
    scheduler.start();
    const pollers = startSqsPollers({
      mappings: messaging.eventSourceMappings,
      sqs,
      invoke: (fn, event) => (runner as LambdaRunner).invoke(fn, event),
      track: (work) => clock.track(work),
    });
    closers.push(() => pollers.close());
    log('ready');
    return { urls, clock, orgApiKey, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.closeAllConnections();
    server.close(() => resolveClose());
  });
}

/** The access key id a request is signed with (SigV4 `Credential=`). */
function accessKeyOf(req: AwsRequest): string | undefined {
  return /Credential=([A-Z0-9]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
}
