/**
 * Collects everything a local run produced that must never hold a secret — output, logs, persisted stores,
 * execution histories, table items, emails, events, the call log and every response the tests received — and
 * finds token values or raw task tokens in it.
 *
 * An Atlassian token value must appear nowhere. A Step Functions task token may appear in Step Functions' own
 * records only: AWS's execution history shows it in the `TaskScheduled` parameters of every `.waitForTaskToken`
 * task (`$$.Task.Token` in the payload), and the local emulator shows what AWS shows, in `GetExecutionHistory`, in
 * `DescribeExecution` and in its executions file. Everywhere else (links, emails, tables, logs, events, responses)
 * a raw task token is a leak.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { isWellFormedTaskToken } from '../../../local/aws/stepfunctions';
import { type LocalRuntime, SEED } from '../../../local/driver';

export interface Artifact {
  source: string;
  text: string;
  /** Step Functions' own record of its executions, which holds task tokens as AWS's does. */
  stepFunctionsRecord?: true;
}

export interface SecretValue {
  /** Secret name and version, to say what leaked without printing it. */
  label: string;
  value: string;
}

export const awsClientConfig = (rt: LocalRuntime) => ({
  endpoint: rt.urls.aws,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/** The emulator's executions file: the histories as `GetExecutionHistory` shows them. */
const STEP_FUNCTIONS_FILE = 'stepfunctions.json';

/**
 * Data-dir entries not scanned, each for a reason: the vault itself and the seeded keys hold secrets by design,
 * the DynamoDB files are LevelDB (their items are scanned through the API instead), `cdk.out` is build output,
 * and screenshots are images.
 */
const NOT_SCANNED = new Set([
  'secretsmanager.json',
  'atlassian-org-key',
  'oidc-signing-key.json',
  'dynamodb',
  'cdk.out',
]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every value of every secret in the local Secrets Manager, all versions (token values come first). */
/**
 * The value of one version, or undefined for a version that holds none: the version `RotateSecret` labels
 * `AWSPENDING` before the rotation function stores a value, left without one when that rotation was refused.
 */
export async function versionValue(sm: SecretsManagerClient, secretId: string, versionId: string) {
  try {
    return (await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }))).SecretString;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

export async function secretValues(rt: LocalRuntime): Promise<SecretValue[]> {
  const sm = new SecretsManagerClient(awsClientConfig(rt));
  try {
    const values: SecretValue[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true, NextToken: nextToken }));
      for (const secret of page.SecretList ?? []) {
        if (secret.DeletedDate) continue;
        let versionsToken: string | undefined;
        do {
          const versions = await sm.send(
            new ListSecretVersionIdsCommand({
              SecretId: secret.ARN,
              IncludeDeprecated: true,
              NextToken: versionsToken,
            }),
          );
          for (const version of versions.Versions ?? []) {
            const got = await versionValue(sm, secret.ARN ?? '', version.VersionId ?? '');
            if (got) values.push({ label: `${secret.Name}@${version.VersionId}`, value: got });
          }
          versionsToken = versions.NextToken;
        } while (versionsToken);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return values;
  } finally {
    sm.destroy();
  }
}

async function executionHistories(rt: LocalRuntime): Promise<Artifact[]> {
  const sfn = new SFNClient(awsClientConfig(rt));
  try {
    const out: Artifact[] = [];
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    for (const machine of machines.stateMachines ?? []) {
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, nextToken, maxResults: 100 }),
        );
        for (const execution of page.executions ?? []) {
          const arn = execution.executionArn;
          const describe = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
          out.push({ source: `DescribeExecution ${arn}`, text: JSON.stringify(describe), stepFunctionsRecord: true });
          let historyToken: string | undefined;
          do {
            const history = await sfn.send(
              new GetExecutionHistoryCommand({
                executionArn: arn,
                includeExecutionData: true,
                maxResults: 1000,
                nextToken: historyToken,
              }),
            );
            out.push({
              source: `GetExecutionHistory ${arn}`,
              text: JSON.stringify(history.events ?? []),
              stepFunctionsRecord: true,
            });
            historyToken = history.nextToken;
          } while (historyToken);
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return out;
  } finally {
    sfn.destroy();
  }
}

async function tableItems(rt: LocalRuntime): Promise<Artifact[]> {
  const ddb = new DynamoDBClient(awsClientConfig(rt));
  try {
    const out: Artifact[] = [];
    let start: string | undefined;
    do {
      const tables = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
      for (const table of tables.TableNames ?? []) {
        let key: Record<string, unknown> | undefined;
        do {
          const page = await ddb.send(
            new ScanCommand({ TableName: table, ...(key ? { ExclusiveStartKey: key as never } : {}) }),
          );
          out.push({ source: `Scan ${table}`, text: JSON.stringify(page.Items ?? []) });
          key = page.LastEvaluatedKey;
        } while (key);
      }
      start = tables.LastEvaluatedTableName;
    } while (start);
    return out;
  } finally {
    ddb.destroy();
  }
}

/** Everything the run produced that must hold no secret. */
export async function collectArtifacts(rt: LocalRuntime): Promise<Artifact[]> {
  const artifacts: Artifact[] = [];
  for (const path of filesUnder(rt.dataDir)) {
    const rel = relative(rt.dataDir, path);
    const top = rel.split(/[\\/]/)[0] ?? rel;
    if (NOT_SCANNED.has(top) || rel.endsWith('.png')) continue;
    artifacts.push({
      source: `data dir: ${rel}`,
      text: readFileSync(path, 'utf8'),
      ...(rel === STEP_FUNCTIONS_FILE ? { stepFunctionsRecord: true as const } : {}),
    });
  }
  artifacts.push(...(await executionHistories(rt)));
  artifacts.push(...(await tableItems(rt)));
  // Snapshot the responses first: the listings below are themselves responses and get appended.
  const received = [...rt.received];
  artifacts.push({ source: 'GET mail /store', text: JSON.stringify(await rt.emails()) });
  artifacts.push({ source: 'GET /local/events', text: (await rt.api('GET', '/local/events')).text });
  artifacts.push({ source: 'GET /local/calls', text: (await rt.api('GET', '/local/calls')).text });
  artifacts.push({ source: 'GET /local/metrics', text: (await rt.api('GET', '/local/metrics')).text });
  artifacts.push({ source: 'GET atlassian /__control/tokens', text: JSON.stringify(await rt.fakeTokens()) });
  received.forEach((text, i) => {
    artifacts.push({ source: `response #${i + 1} received by the tests`, text });
  });
  return artifacts;
}

/** The forms a token value could take in text: as it is, URL-encoded, or inside a Basic credential. */
function encodings(value: string): string[] {
  return [
    value,
    encodeURIComponent(value),
    Buffer.from(`${SEED.serviceAccountEmail}:${value}`).toString('base64'),
  ].filter((v, i, all) => all.indexOf(v) === i);
}

/** `source: label` for every artifact holding a secret value (the value itself is never printed). */
export function findSecretValues(artifacts: Artifact[], secrets: SecretValue[]): string[] {
  const leaks: string[] = [];
  for (const artifact of artifacts) {
    for (const secret of secrets) {
      if (encodings(secret.value).some((form) => artifact.text.includes(form))) {
        leaks.push(`${artifact.source}: ${secret.label}`);
      }
    }
  }
  return leaks;
}

/**
 * Every substring of `text` that the local Step Functions engine would accept as one of its task tokens
 * (`isWellFormedTaskToken`: base64 with a magic prefix and checksum), also inside URL-encoded text.
 */
export function findTaskTokens(text: string, tokenLength: number): string[] {
  const found = new Set<string>();
  const decoded = text.replace(/%2B/gi, '+').replace(/%2F/gi, '/').replace(/%3D/gi, '=');
  for (const candidateText of decoded === text ? [text] : [text, decoded]) {
    for (const run of candidateText.match(/[A-Za-z0-9+/=]+/g) ?? []) {
      if (run.length < tokenLength) continue;
      for (let start = 0; start + tokenLength <= run.length; start++) {
        const candidate = run.slice(start, start + tokenLength);
        if (isWellFormedTaskToken(candidate)) found.add(candidate);
      }
    }
  }
  return [...found];
}

/** A token in the local engine's format (local/aws/stepfunctions.ts `makeTaskToken`), to check the detector. */
export function plantedTaskToken(): string {
  const body = Buffer.concat([Buffer.from('TWtt', 'latin1'), randomBytes(320)]);
  const checksum = createHash('sha256').update(body).digest().subarray(0, 8);
  return Buffer.concat([body, checksum]).toString('base64');
}

export interface LeakReport {
  /** Every secret value looked for (labels only are ever printed). */
  secrets: SecretValue[];
  /** What was scanned. */
  sources: string[];
  /** `source: secret label` for every artifact holding a secret value. */
  secretLeaks: string[];
  /** Sources holding a raw task token, outside Step Functions' own records (where AWS shows them too). */
  taskTokenLeaks: string[];
}

/**
 * Scans everything the run produced for secret values (everywhere) and raw task tokens (everywhere but Step
 * Functions' own records). The detectors are first checked on planted values, so an empty result means "nothing
 * found", not "could not find anything".
 */
export async function scanForLeaks(rt: LocalRuntime): Promise<LeakReport> {
  const secrets = await secretValues(rt);
  const planted = plantedTaskToken();
  if (!isWellFormedTaskToken(planted)) {
    throw new Error('the local task token format changed: update plantedTaskToken() from local/aws/stepfunctions.ts');
  }
  const selfCheck = [
    { source: 'planted', text: `{"x":"zz${planted}"} ${secrets.map((s) => `<${s.value}>`).join(' ')}` },
    { source: 'planted-encoded', text: encodeURIComponent(planted) },
  ];
  const plantedSecrets = findSecretValues(selfCheck, secrets);
  if (
    plantedSecrets.length !== secrets.length ||
    findTaskTokens(selfCheck[0]!.text, planted.length).join() !== planted ||
    findTaskTokens(selfCheck[1]!.text, planted.length).join() !== planted
  ) {
    throw new Error('the leak detectors missed planted values');
  }
  const artifacts = await collectArtifacts(rt);
  return {
    secrets,
    sources: artifacts.map((a) => a.source),
    secretLeaks: findSecretValues(artifacts, secrets),
    taskTokenLeaks: artifacts
      .filter((a) => !a.stepFunctionsRecord && findTaskTokens(a.text, planted.length).length > 0)
      .map((a) => a.source),
  };
}
