/**
 * 2. Machine time of the workflow, in the local runtime: from the approver's POST to the request being `ISSUED`
 * (the secret readable), and for one rotation from `POST /tokens/{id}/rotate` to the new version holding
 * `AWSCURRENT`. Beside them, in the same run: a `GET /health` round trip (API Gateway emulation + one warm Lambda
 * with no I/O), the floor any API-driven step pays here.
 */
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { secretVersionId } from '../../functions/domain/naming';
import type { LocalRuntime } from '../../local/driver';
import { type AwsClients, approveAndWaitIssued, pollUntil, SEED, submitAndOpen } from '../lib/local';
import { row, type SectionResult } from '../lib/report';
import { figure, median, round, since } from '../lib/stats';

export interface WorkflowOptions {
  rt: LocalRuntime;
  aws: AwsClients;
  samples: number;
  log: (line: string) => void;
}

async function healthMs(rt: LocalRuntime): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${rt.urls.api}/health`);
  await res.text();
  return since(started);
}

export async function runWorkflow(opts: WorkflowOptions): Promise<SectionResult> {
  const { rt, aws } = opts;
  const alice = await rt.memberToken(SEED.alice);
  const admin = await rt.memberToken(SEED.admin);
  const issue: number[] = [];
  const approvePost: number[] = [];
  const rotate: number[] = [];
  const rotatePost: number[] = [];
  const health: number[] = [];
  const tokens: string[] = [];
  const run = Date.now().toString(36);

  // One unmeasured round first: it spawns the sandboxes (cold starts are section 1's subject).
  for (let i = -1; i < opts.samples; i++) {
    for (let h = 0; h < 3; h++) health.push(await healthMs(rt));
    const req = await submitAndOpen(rt, alice, `bench-wf-${run}-${i + 1}`);
    const issued = await approveAndWaitIssued(rt, aws, req);
    // The secret is readable by CI once ISSUED.
    const value = await aws.sm.send(new GetSecretValueCommand({ SecretId: issued.secretName }));
    if (!value.SecretString) throw new Error(`${issued.secretName} is not readable after ISSUED`);
    tokens.push(issued.tokenId);

    const version = secretVersionId(issued.tokenId, 2);
    const started = performance.now();
    const answer = await rt.api('POST', `/tokens/${issued.tokenId}/rotate`, { token: alice });
    const postMs = since(started);
    if (answer.status !== 202)
      throw new Error(`POST /tokens/${issued.tokenId}/rotate answered ${answer.status}: ${answer.text}`);
    const at = await pollUntil(
      async () => {
        const d = await aws.sm.send(new DescribeSecretCommand({ SecretId: issued.secretName }));
        return d.VersionIdsToStages?.[version]?.includes('AWSCURRENT') === true;
      },
      60_000,
      `${issued.tokenId} generation 2 to be AWSCURRENT`,
    );
    if (i >= 0) {
      issue.push(issued.issuedMs);
      approvePost.push(issued.postMs);
      rotate.push(at - started);
      rotatePost.push(postMs);
      opts.log(
        `  sample ${i + 1}: approve→ISSUED ${round(issued.issuedMs, 1)} ms, rotate→AWSCURRENT ${round(at - started, 1)} ms`,
      );
    }
    rt.received.length = 0;
  }

  // Leave nothing behind that later sections would see rotate: revoke what was issued here.
  for (const tokenId of tokens) {
    const answer = await rt.api('POST', `/tokens/${tokenId}/revoke`, {
      token: admin,
      body: { reason: 'bench cleanup' },
    });
    if (answer.status !== 200) throw new Error(`revoking ${tokenId} answered ${answer.status}: ${answer.text}`);
  }
  rt.received.length = 0;

  const healthMedian = median(health);
  const issueFig = figure(issue, 'ms');
  const rotateFig = figure(rotate, 'ms');
  return {
    id: 'workflow',
    title: 'Machine time of the workflow (local runtime)',
    rows: [
      row('approve POST -> request ISSUED', issueFig),
      row('  of which the approval POST answer', figure(approvePost, 'ms')),
      row('rotate POST -> new version AWSCURRENT', rotateFig),
      row('  of which the rotate POST answer', figure(rotatePost, 'ms')),
      row('baseline: GET /health round trip', figure(health, 'ms')),
      row('issuance / health round trip', {
        ...figure(
          issue.map((v) => v / healthMedian),
          'x',
        ),
      }),
      row('rotation / health round trip', {
        ...figure(
          rotate.map((v) => v / healthMedian),
          'x',
        ),
      }),
    ],
    notes: [
      'Measured by polling the records table (request status) and DescribeSecret (VersionIdsToStages) on the local AWS endpoint every ~5 ms; resolution is a few ms.',
      'Local Step Functions, Lambda sandboxes (worker threads, warm) and emulators share one Node process on this machine; on AWS each hop adds network latency instead. Treat the absolute ms as this machine, and the ratio to the /health round trip as the comparable figure.',
    ],
    details: { samples: opts.samples, tokens },
  };
}
