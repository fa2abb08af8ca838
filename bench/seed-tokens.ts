/**
 * Seeds issued tokens into a running local runtime without going through approval, for the burst benchmark
 * (issuing 1,000 tokens through the HTTP API and an approver's link would take longer than the benchmark itself).
 *
 * Every seeded token is real, built with the product's own code, in exactly the shape issuance leaves it:
 * - the Atlassian token is minted at the fake Atlassian through the product's `AtlassianClient`, under the label
 *   `token-warden:<tokenId>:g1` and with the policy's scopes;
 * - the secret `token-warden.<alias>.<name>` is created, tagged, given its readers, staged and promoted by the
 *   product's `TokenVault` (the mint-token and promote-token steps), holding the real token value;
 * - the request (`ISSUED`), the name lock, the generation-1 mint record (`PROMOTED`) and the token record (`ACTIVE`,
 *   with `nextRotationAt`, so it is in the sparse `byDue` index) are written into the local DynamoDB through the AWS
 *   endpoint by the product's `RecordStore` (`createRequest`, `acquireName`, `putMint`, `createToken`), i.e. in
 *   exactly the item shape `functions/adapters/aws/record-store.ts` writes; the request record is built by the
 *   domain's `newRequest` from a body that passed `parseCreateRequestBody` and the policy check;
 * - the token's one-time rotation schedule `rotate-<tokenId>` is created by the product's `RotationSchedules`
 *   with the same target, role, group and input promote-token would give it.
 *
 * Not seeded: audit records and lifecycle events of the skipped issuance, and the approval records and emails.
 * Rotation reads none of them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { AtlassianClient } from '../functions/adapters/atlassian/client';
import { createRecordStore } from '../functions/adapters/aws/record-store';
import { RotationSchedules } from '../functions/adapters/aws/rotation-schedules';
import { TokenVault } from '../functions/adapters/aws/token-vault';
import {
  derivedId,
  mintLabel,
  requestIdFrom,
  rotationExecutionName,
  secretNameFor,
  secretVersionId,
  tokenIdFor,
} from '../functions/domain/naming';
import { findServiceAccount, type Policy, validatePolicy } from '../functions/domain/policy';
import { isoSeconds } from '../functions/domain/ports';
import type { StoredRequest, StoredToken } from '../functions/domain/records';
import { checkRequestAgainstPolicy, newRequest, parseCreateRequestBody } from '../functions/domain/requests';
import type { LocalRuntime } from '../local/driver';
import type { BundledFunction } from './lib/assembly';
import type { AwsClients } from './lib/local';

export interface SeedOptions {
  rt: LocalRuntime;
  aws: AwsClients;
  /** The runtime's functions (their environment names the state machine, role, group, key). */
  functions: BundledFunction[];
  count: number;
  /** Every seeded token's rotation comes due at this instant (simulated time). */
  dueAt: Date;
  /** Prefix of the token names (`<prefix>-<i>`); also makes the request ids unique per run. */
  prefix: string;
  requester: string;
  concurrency?: number;
  log?: (line: string) => void;
}

export interface SeededToken {
  requestId: string;
  tokenId: string;
  name: string;
  secretName: string;
}

function envOf(functions: BundledFunction[], shortName: string): Record<string, string> {
  const fn = functions.find((f) => f.shortName === shortName);
  if (!fn) throw new Error(`no ${shortName} function in the assembly`);
  return fn.env;
}

/** The policy as the functions load it: the `policy.json` bundled beside a handler, validated. */
export function bundledPolicy(functions: BundledFunction[]): Policy {
  const fn = functions.find((f) => f.shortName === 'MintToken') ?? functions[0];
  if (!fn) throw new Error('no functions in the assembly');
  return validatePolicy(JSON.parse(readFileSync(join(fn.assetDir, 'policy.json'), 'utf8')), 'policy.json');
}

export async function seedTokens(opts: SeedOptions): Promise<SeededToken[]> {
  const policy = bundledPolicy(opts.functions);
  const promoteEnv = envOf(opts.functions, 'PromoteToken');
  const mintEnv = envOf(opts.functions, 'MintToken');
  const orgKey = readFileSync(join(opts.rt.dataDir, 'atlassian-org-key'), 'utf8').trim();
  const atlassian = new AtlassianClient({
    apiBaseUrl: opts.rt.urls.atlassian,
    siteBaseUrl: opts.rt.urls.atlassian,
    orgApiKey: async () => orgKey,
  });
  const vault = new TokenVault(opts.aws.sm);
  const store = createRecordStore(opts.aws.doc, opts.aws.recordsTable);
  const scheduler = new SchedulerClient({
    endpoint: opts.rt.urls.aws,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const schedules = new RotationSchedules(
    {
      rotationStateMachineArn: String(promoteEnv.ROTATION_STATE_MACHINE_ARN),
      schedulerRoleArn: String(promoteEnv.SCHEDULER_ROLE_ARN),
      groupName: String(promoteEnv.SCHEDULE_GROUP_NAME),
    },
    scheduler,
  );
  const leadMs = policy.rotationLeadDays * 86_400_000;
  const expiresAt = new Date(opts.dueAt.getTime() + leadMs);
  const issuedAt = new Date(opts.dueAt.getTime() - 83 * 86_400_000);

  const seedOne = async (i: number): Promise<SeededToken> => {
    const name = `${opts.prefix}-${i}`;
    const body = parseCreateRequestBody({
      serviceAccount: 'jenkins-bot',
      name,
      scopes: ['read:jira-work', 'read:jira-user'],
      lifetimeDays: 90,
      justification: `benchmark burst token ${i}`,
    });
    const check = checkRequestAgainstPolicy(body, policy, opts.requester);
    const account = findServiceAccount(policy, body.serviceAccount);
    if (!account) throw new Error('jenkins-bot is not in the policy');
    const requestId = requestIdFrom(derivedId('bench-burst', opts.prefix, String(i)));
    const tokenId = tokenIdFor(requestId);
    const secretName = secretNameFor(account.alias, name);
    const versionId = secretVersionId(tokenId, 1);
    const label = mintLabel(tokenId, 1);

    const minted = await atlassian.mintToken(account.atlassianId, { label, scopes: body.scopes, expiry: expiresAt });
    const secretArn = await vault.ensureSecret({
      name: secretName,
      kmsKeyId: String(mintEnv.SECRETS_KMS_KEY_ID ?? 'alias/token-warden'),
      description: `Atlassian API token ${name} of ${account.email}, managed by Token Warden (${tokenId})`,
      tags: {
        'jenkins:credentials:type': 'usernamePassword',
        'jenkins:credentials:username': account.email,
        'token-warden:token-id': tokenId,
        'token-warden:service-account': account.alias,
      },
      consumers: check.consumers,
    });
    await vault.stage(secretName, versionId, minted.token);
    await vault.promote(secretName, versionId);

    const at = isoSeconds(issuedAt);
    const request: StoredRequest = {
      ...newRequest({ requestId, body, check, requester: opts.requester, now: issuedAt }),
      status: 'ISSUED',
      approvals: [{ approver: check.approvers[0] ?? 'approver1@example.com', decision: 'APPROVED', decidedAt: at }],
      tokenId,
      secretName,
      secretArn,
      expiresAt: isoSeconds(expiresAt),
      version: 3,
    };
    if (!(await store.createRequest(request))) throw new Error(`request ${requestId} exists already`);
    await store.acquireName(account.alias, name, requestId);
    await store.putMint({
      tokenId,
      generation: 1,
      requestId,
      label,
      versionId,
      state: 'PROMOTED',
      atlassianTokenId: minted.id,
      expiresAt: isoSeconds(expiresAt),
      mintedAt: at,
      verifiedBy: 'myself',
    });
    const token: StoredToken = {
      tokenId,
      requestId,
      serviceAccount: account.alias,
      name,
      owner: opts.requester,
      secretName,
      secretArn,
      status: 'ACTIVE',
      scopes: [...body.scopes],
      lifetimeDays: body.lifetimeDays,
      consumers: [...check.consumers],
      expiresAt: isoSeconds(expiresAt),
      generation: 1,
      createdAt: at,
      nextRotationAt: isoSeconds(opts.dueAt),
      generations: [
        {
          generation: 1,
          label,
          atlassianTokenId: minted.id,
          expiresAt: isoSeconds(expiresAt),
          versionId,
          mintedAt: at,
        },
      ],
      correlationId: requestId,
      version: 1,
    };
    if (!(await store.createToken(token))) throw new Error(`token ${tokenId} exists already`);
    await schedules.upsert(tokenId, opts.dueAt, rotationExecutionName(tokenId, 2, 1), {
      tokenId,
      generation: 2,
      attempt: 1,
    });
    return { requestId, tokenId, name, secretName };
  };

  const out: SeededToken[] = [];
  let next = 0;
  const workers = Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, async () => {
    while (next < opts.count) {
      const i = next++;
      out.push(await seedOne(i));
      if (out.length % 250 === 0) opts.log?.(`  seeded ${out.length}/${opts.count}`);
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    scheduler.destroy();
  }
  return out;
}
