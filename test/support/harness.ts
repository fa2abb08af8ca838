/**
 * Use-case test harness: dynalite tables, the Secrets Manager emulator behind the local AWS endpoint, and the fake
 * Atlassian over HTTP, wired into the adapters the Lambdas use. SES is left to the caller's client mock.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  SESv2Client,
  type SESv2ClientResolvedConfig,
  SendEmailCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-sesv2';
import type { AwsStub } from 'aws-sdk-client-mock';
import { AtlassianClient } from '../../functions/adapters/atlassian/client';
import { SesMailer } from '../../functions/adapters/aws/mailer';
import { createRecordStore, type RecordStore } from '../../functions/adapters/aws/record-store';
import { TokenVault } from '../../functions/adapters/aws/token-vault';
import { cryptoRandom } from '../../functions/composition/random';
import { parsePolicy } from '../../functions/domain/policy-text';
import type { Clock } from '../../functions/domain/ports';
import type { StoredRequest } from '../../functions/domain/records';
import { checkRequestAgainstPolicy, newRequest, parseCreateRequestBody } from '../../functions/domain/requests';
import { type IssuanceDeps, mintToken, verifyToken } from '../../functions/use-cases/issuance';
import type { Mailer, RotationScheduler } from '../../functions/use-cases/ports';
import { promoteToken } from '../../functions/use-cases/promote';
import { type AwsEdge, createAwsEdge } from '../../local/aws/edge';
import { LocalSecretsManager, type LocalSecretsManagerOptions } from '../../local/aws/secrets-manager';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian } from '../../local/fake-atlassian';
import { type LocalDynamo, startDynamo } from './dynamo';
import { notifyingAudit } from './inline-notifier';

export const policy = parsePolicy(readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
export const ORG_KEY = 'org-key-for-tests';
export const SERVICE_ACCOUNT = policy.serviceAccounts[0]!;

/** A clock tests move by hand; every emulator and use case reads it. */
export class TestClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Records the schedules promote asks for. */
export class RecordingScheduler implements RotationScheduler {
  readonly schedules = new Map<string, { at: Date; executionName: string; input: object }>();
  async upsert(tokenId: string, at: Date, executionName: string, input: object): Promise<void> {
    this.schedules.set(tokenId, { at, executionName, input });
  }
  async remove(tokenId: string): Promise<void> {
    this.schedules.delete(tokenId);
  }
}

export interface Harness {
  deps: IssuanceDeps & { store: RecordStore; mailer: Mailer };
  clock: TestClock;
  schedules: RecordingScheduler;
  dynamo: LocalDynamo;
  sm: SecretsManagerClient;
  fake: FakeAtlassian;
  fakeUrl: string;
  /** POST to a fake Atlassian control route. */
  control(path: string, body: unknown): Promise<void>;
  /** Tokens minted at the fake under one token id's labels. */
  fakeTokens(tokenId: string): ReturnType<FakeAtlassian['tokens']>;
  /** An APPROVED request, as the approval step leaves it. */
  approvedRequest(scopes?: string[]): Promise<StoredRequest>;
  /** An issued generation-1 token: an approved request through the issuance steps, as the workflow runs them. */
  issuedToken(): Promise<{ request: StoredRequest; tokenId: string; secretName: string }>;
  /** Status of `/myself` for a token value, as the service account. */
  myself(token: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * One harness for a test file: started before its tests, closed after them; before each test the file's SES client
 * mock is reset to accept every email, then `beforeEachTest` runs. The harness answers once `beforeAll` has run.
 */
export function useHarness(
  ses: AwsStub<ServiceInputTypes, ServiceOutputTypes, SESv2ClientResolvedConfig>,
  beforeEachTest: () => void = () => undefined,
  options: HarnessOptions = {},
): Harness {
  let started: Harness | undefined;
  beforeAll(async () => {
    started = await startHarness(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(() => {
    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    beforeEachTest();
  });
  return new Proxy({} as Harness, {
    get: (_target, prop) => {
      if (!started) throw new Error('the harness starts in beforeAll');
      return Reflect.get(started, prop);
    },
  });
}

/** How the emulators behind a harness run. */
export interface HarnessOptions {
  /** Rotation by a Lambda function in the Secrets Manager emulator (`RotateSecret`). @default none: refused */
  secretsManager?: Pick<LocalSecretsManagerOptions, 'invokeRotation' | 'track' | 'onRotationFailure'>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new TestClock();
  const dynamo = await startDynamo();
  const edge: AwsEdge = createAwsEdge({
    services: [new LocalSecretsManager({ now: () => clock.now(), ...options.secretsManager })],
  });
  const edgeServer = await edge.listen(0);
  const sm = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${(edgeServer.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const fake = createFakeAtlassian({ now: () => clock.now(), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  const fakeServer: Server = await fake.listen(0);
  const fakeUrl = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
  const schedules = new RecordingScheduler();
  const store = createRecordStore(dynamo.doc, dynamo.tableName);
  const mailer = new SesMailer('token-warden@example.com', new SESv2Client({ region: 'us-east-1' }));
  const deps: IssuanceDeps & { store: RecordStore; mailer: Mailer } = {
    store,
    // Every appended record is emailed at once by the notifier's planners, through the SES mock.
    audit: notifyingAudit(dynamo.doc, dynamo.auditTableName, () => ({ store, mailer, clock, policy })),
    vault: new TokenVault(sm),
    atlassian: new AtlassianClient({
      apiBaseUrl: fakeUrl,
      siteBaseUrl: fakeUrl,
      orgApiKey: async () => ORG_KEY,
      timeoutMs: 500,
      sleep: async () => {},
    }),
    mailer,
    clock,
    policy,
    kmsKeyId: 'alias/token-warden',
    schedules,
  };
  const harness: Harness = {
    deps,
    clock,
    schedules,
    dynamo,
    sm,
    fake,
    fakeUrl,
    async control(path, body) {
      const res = await fetch(`${fakeUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`control ${path} answered ${res.status}`);
    },
    fakeTokens: (tokenId) => fake.tokens().filter((t) => t.label.startsWith(`token-warden:${tokenId}:`)),
    async approvedRequest(scopes = ['read:jira-work', 'read:jira-user']) {
      const requestId = `req_${cryptoRandom.id()}`;
      const body = parseCreateRequestBody({
        serviceAccount: 'jenkins-bot',
        name: `ci-${requestId.slice(4, 12)}`,
        scopes,
        lifetimeDays: 30,
        justification: 'tests',
      });
      const request: StoredRequest = {
        ...newRequest({
          requestId,
          body,
          check: checkRequestAgainstPolicy(body, policy, 'alice@example.com'),
          requester: 'alice@example.com',
          now: clock.now(),
        }),
        status: 'APPROVED',
        version: 1,
      };
      await store.createRequest(request);
      return request;
    },
    async issuedToken() {
      const request = await harness.approvedRequest();
      const minted = await mintToken(deps, { requestId: request.requestId });
      await verifyToken(deps, minted);
      await promoteToken(deps, minted);
      return { request, tokenId: minted.tokenId, secretName: `token-warden.jenkins-bot.${request.name}` };
    },
    async myself(token) {
      const basic = Buffer.from(`${SERVICE_ACCOUNT.email}:${token}`).toString('base64');
      const res = await fetch(`${fakeUrl}/ex/jira/${SERVICE_ACCOUNT.cloudId}/rest/api/3/myself`, {
        headers: { authorization: `Basic ${basic}` },
      });
      return res.status;
    },
    async close() {
      sm.destroy();
      await edge.close();
      await new Promise((r) => edgeServer.close(r));
      await new Promise((r) => fakeServer.close(r));
      await dynamo.close();
    },
  };
  return harness;
}
