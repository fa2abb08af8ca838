/**
 * Secrets Manager's four rotation steps over Token Warden's rotation, against the Secrets Manager emulator (whose
 * `RotateSecret` creates the empty `AWSPENDING` version and invokes the steps), dynalite and the fake Atlassian.
 */
import { randomUUID } from 'node:crypto';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Policy } from '../../../functions/domain/policy';
import { lockRotation, secretsManagerRotationDays } from '../../../functions/domain/rotation';
import { mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { RotationRefusedError } from '../../../functions/use-cases/port-errors';
import type { Atlassian } from '../../../functions/use-cases/ports';
import { promoteToken } from '../../../functions/use-cases/promote';
import { beginRotation } from '../../../functions/use-cases/rotation';
import {
  rotationStep,
  SECRET_ROTATION_STEPS,
  type SecretRotationDeps,
  type SecretRotationOutcome,
} from '../../../functions/use-cases/secret-rotation';
import type { RotationEvent, RotationFailure, RotationInvoker } from '../../../local/aws/secrets-manager';
import { useHarness } from '../../support/harness';

const ses = mockClient(SESv2Client);
const ROTATION_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:token-warden-rotation';
/** The rotation workflow's runs the steps started (finishSecret's retiring run). */
const started: { arn: string; name: string; input: object }[] = [];
/** The steps' dependencies: the harness's, and a workflow engine that records what is started. */
const rotationDeps = (): SecretRotationDeps => ({
  ...h.deps,
  workflows: {
    start: async (arn, name, input) => {
      started.push({ arn, name, input });
      return `${arn}:${name}`;
    },
  },
  rotationStateMachineArn: ROTATION_STATE_MACHINE_ARN,
});
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:token-warden-secret-rotation';

/** What the emulator's rotation invokes; each test sets it (by default every step fails, leaving T pending). */
let invoker: RotationInvoker = async () => undefined;
const failures: RotationFailure[] = [];
const inFlight: Promise<unknown>[] = [];
const holdAtCreate: RotationInvoker = async () => {
  throw new Error('the rotation function is not running');
};

const h = useHarness(
  ses,
  () => {
    invoker = holdAtCreate;
    failures.length = 0;
    started.length = 0;
  },
  {
    secretsManager: {
      invokeRotation: (arn, event) => invoker(arn, event),
      track: <T>(work: Promise<T>) => {
        inFlight.push(work);
        return work;
      },
      onRotationFailure: (failure) => failures.push(failure),
    },
  },
);

async function settled() {
  while (inFlight.length > 0) await Promise.allSettled(inFlight.splice(0));
}

/** Asks Secrets Manager to rotate the secret (the console's "Rotate secret immediately") and waits for it. */
async function rotateSecret(secretArn: string, token = randomUUID(), immediately = true) {
  await h.sm.send(
    new RotateSecretCommand({
      SecretId: secretArn,
      ClientRequestToken: token,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 25 },
      RotateImmediately: immediately,
    }),
  );
  await settled();
  return token;
}

/** An issued token and a rotation Secrets Manager began but whose steps have not run: T is an empty AWSPENDING. */
async function pendingRotation() {
  const issued = await h.issuedToken();
  const token = (await h.deps.store.getToken(issued.tokenId))!;
  const clientRequestToken = await rotateSecret(token.secretArn);
  failures.length = 0;
  return { ...issued, secretArn: token.secretArn, clientRequestToken };
}

const step = (
  Step: (typeof SECRET_ROTATION_STEPS)[number],
  secretArn: string,
  clientRequestToken: string,
  deps: SecretRotationDeps = rotationDeps(),
) => rotationStep(deps, { Step, SecretId: secretArn, ClientRequestToken: clientRequestToken });

/** Lifts every fault injected at the fake Atlassian. */
async function clearFaults() {
  await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
}

/**
 * An abandoned rotation: the token still ACTIVE at generation 1, its lock released, the failure on the record and
 * once in the audit trail, and T no longer pending. Answers the token as stored.
 */
async function expectAbandoned(tokenId: string, secretName: string, clientRequestToken: string) {
  const token = (await h.deps.store.getToken(tokenId))!;
  expect(token).toMatchObject({ status: 'ACTIVE', generation: 1 });
  expect(token.rotation).toBeUndefined();
  expect(token.lastRotationError).toBeDefined();
  expect((await stagesOf(secretName))[clientRequestToken] ?? []).not.toContain('AWSPENDING');
  expect(await rotationFailures(tokenId)).toHaveLength(1);
  return token;
}

/** The token's ROTATION_FAILED audit records. */
async function rotationFailures(tokenId: string) {
  const items = (await h.dynamo.doc.send(new ScanCommand({ TableName: h.dynamo.auditTableName }))).Items ?? [];
  return items.filter((r) => r.tokenId === tokenId && r.event === 'ROTATION_FAILED');
}

async function stagesOf(secretName: string) {
  return (await h.deps.vault.describe(secretName))?.VersionIdsToStages ?? {};
}

/** Generation 2 is current under `versionId`, generation 1 previous, both accepted by Atlassian, one token each. */
async function expectRotated(tokenId: string, secretName: string, versionId: string) {
  const token = (await h.deps.store.getToken(tokenId))!;
  expect(token).toMatchObject({ generation: 2, status: 'ACTIVE' });
  expect(token.rotation).toBeUndefined();
  expect(token.generations.map((g) => [g.generation, g.versionId])).toEqual([
    [1, token.generations[0]!.versionId],
    [2, versionId],
  ]);
  const stages = await stagesOf(secretName);
  expect(stages[versionId]).toEqual(['AWSCURRENT']);
  expect(stages[token.generations[0]!.versionId]).toEqual(['AWSPREVIOUS']);
  expect(await h.myself(await h.deps.vault.read(secretName, versionId))).toBe(200);
  expect(await h.myself(await h.deps.vault.read(secretName, token.generations[0]!.versionId))).toBe(200);
  expect(h.fakeTokens(tokenId).map((t) => [t.label, t.status])).toEqual([
    [`token-warden:${tokenId}:g1`, 'ACTIVE'],
    [`token-warden:${tokenId}:g2`, 'ACTIVE'],
  ]);
  expect((await h.deps.store.getMint(tokenId, 2))?.state).toBe('PROMOTED');
  expect(h.schedules.schedules.get(tokenId)?.input).toEqual({ tokenId, generation: 3, attempt: 1 });
}

/** A refused createSecret left no pending version, minted nothing, and Secrets Manager accepts the next rotation. */
async function expectNothingStarted(tokenId: string, secretName: string, secretArn: string, versionId: string) {
  expect((await stagesOf(secretName))[versionId] ?? []).not.toContain('AWSPENDING');
  expect(h.fakeTokens(tokenId).map((t) => t.label)).toEqual([`token-warden:${tokenId}:g1`]);
  expect(await h.deps.store.getMint(tokenId, 2)).toBeUndefined();
  await expect(rotateSecret(secretArn)).resolves.toEqual(expect.any(String));
}

describe('Use case: Secrets Manager rotation', () => {
  describe('Function: rotationStep', () => {
    it('rotates the token when Secrets Manager runs the four steps', async () => {
      // Prepare
      const issued = await h.issuedToken();
      const { secretArn } = (await h.deps.store.getToken(issued.tokenId))!;
      const outcomes: SecretRotationOutcome[] = [];
      invoker = async (_arn, event: RotationEvent) => {
        outcomes.push(await rotationStep(rotationDeps(), event));
      };

      // Act
      const versionId = await rotateSecret(secretArn);

      // Assess
      expect(failures).toEqual([]);
      expect(outcomes.map((o) => [o.step, o.outcome])).toEqual([
        ['createSecret', 'minted'],
        ['setSecret', 'staged'],
        ['testSecret', 'verified'],
        ['finishSecret', 'promoted'],
      ]);
      const retire = `${issued.tokenId}-g2-retire`;
      expect(outcomes[3]).toMatchObject({ retiredBy: retire });
      // Started before the promotion and again after it: one run, by its name.
      expect(started.length).toBeGreaterThan(0);
      expect([...new Set(started.map((s) => JSON.stringify(s)))].map((s) => JSON.parse(s))).toEqual([
        {
          arn: ROTATION_STATE_MACHINE_ARN,
          name: retire,
          input: { tokenId: issued.tokenId, generation: 2, retire: true },
        },
      ]);
      await expectRotated(issued.tokenId, issued.secretName, versionId);
    });

    it('leaves what one run leaves when each step runs twice', async () => {
      // Prepare
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();

      // Act
      const results: [SecretRotationOutcome, SecretRotationOutcome][] = [];
      for (const name of SECRET_ROTATION_STEPS) {
        results.push([
          await step(name, secretArn, clientRequestToken),
          await step(name, secretArn, clientRequestToken),
        ]);
      }

      // Assess
      expect(results.map(([first, second]) => [first.outcome, second.outcome])).toEqual([
        ['minted', 'already-minted'],
        ['staged', 'staged'],
        ['verified', 'verified'],
        ['promoted', 'already-rotated'],
      ]);
      await expectRotated(tokenId, secretName, clientRequestToken);
    });

    it.each([1, 2, 3, 4])(
      'completes a rotation that stopped after step %i when run again from createSecret with the same token',
      async (stoppedAfter) => {
        // Prepare
        const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
        for (const name of SECRET_ROTATION_STEPS.slice(0, stoppedAfter))
          await step(name, secretArn, clientRequestToken);

        // Act
        for (const name of SECRET_ROTATION_STEPS) await step(name, secretArn, clientRequestToken);

        // Assess
        await expectRotated(tokenId, secretName, clientRequestToken);
      },
    );

    it('completes a createSecret that stopped after writing the value under the token, minting nothing more', async () => {
      // Prepare: createSecret minted and wrote the value under T, then stopped before marking the mint staged.
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      await step('createSecret', secretArn, clientRequestToken);
      const mint = (await h.deps.store.getMint(tokenId, 2))!;
      await h.deps.store.putMint({ ...mint, state: 'MINTED' });

      // Act
      const again = await step('createSecret', secretArn, clientRequestToken);
      for (const name of SECRET_ROTATION_STEPS.slice(1)) await step(name, secretArn, clientRequestToken);

      // Assess
      expect(again.outcome).toBe('already-minted');
      await expectRotated(tokenId, secretName, clientRequestToken);
    });

    it('refuses a new rotation while a workflow rotation holds the lock', async () => {
      // Prepare
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      expect(await beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 })).toMatchObject({ proceed: true });

      // Act
      const refused = step('createSecret', secretArn, clientRequestToken);

      // Assess
      await expect(refused).rejects.toThrow(RotationRefusedError);
      await expect(refused).rejects.toThrow(/already running/);
      expect((await h.deps.store.getToken(tokenId))?.rotation).toEqual({
        generation: 2,
        attempt: 1,
        startedAt: expect.any(String),
      });
      await expectNothingStarted(tokenId, secretName, secretArn, clientRequestToken);
    });

    it('refuses a new rotation while the previous generation is in its grace period', async () => {
      // Prepare: one rotation done; generation 1 is still live in its grace period.
      const issued = await h.issuedToken();
      const { secretArn } = (await h.deps.store.getToken(issued.tokenId))!;
      invoker = async (_arn, event) => {
        await rotationStep(rotationDeps(), event);
      };
      await rotateSecret(secretArn);
      invoker = holdAtCreate;
      const second = await rotateSecret(secretArn);

      // Act
      const refused = step('createSecret', secretArn, second);

      // Assess
      await expect(refused).rejects.toThrow(/grace period/);
      expect((await stagesOf(issued.secretName))[second] ?? []).not.toContain('AWSPENDING');
      expect(h.fakeTokens(issued.tokenId).map((t) => t.label.split(':').pop())).toEqual(['g1', 'g2']);
      expect(await h.deps.store.getMint(issued.tokenId, 3)).toBeUndefined();
      expect((await h.deps.store.getToken(issued.tokenId))?.generation).toBe(2);
    });

    it('refuses to rotate a revoked token', async () => {
      // Prepare
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      const token = (await h.deps.store.getToken(tokenId))!;
      await h.deps.store.saveToken({ ...token, status: 'REVOKED' });

      // Act
      const refused = step('createSecret', secretArn, clientRequestToken);

      // Assess
      await expect(refused).rejects.toThrow(/REVOKED/);
      await expectNothingStarted(tokenId, secretName, secretArn, clientRequestToken);
    });

    it('refuses to rotate a token of a service account issued by hand', async () => {
      // Prepare
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      const manual: Policy = {
        ...h.deps.policy,
        serviceAccounts: h.deps.policy.serviceAccounts.map((a) => ({ ...a, issuance: 'manual' as const })),
      };

      // Act
      const refused = step('createSecret', secretArn, clientRequestToken, { ...rotationDeps(), policy: manual });

      // Assess
      await expect(refused).rejects.toThrow(/issued by hand/);
      await expectNothingStarted(tokenId, secretName, secretArn, clientRequestToken);
    });

    it('discards what it minted, releases the lock and drops AWSPENDING when the mint fails', async () => {
      // Prepare
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      await h.control('/__control/faults', { route: 'mint', status: 400, count: 1 });

      // Act
      const failed = step('createSecret', secretArn, clientRequestToken);

      // Assess
      await expect(failed).rejects.toThrow();
      const token = (await h.deps.store.getToken(tokenId))!;
      expect(token).toMatchObject({ status: 'ACTIVE', generation: 1 });
      expect(token.rotation).toBeUndefined();
      expect((await stagesOf(secretName))[clientRequestToken] ?? []).not.toContain('AWSPENDING');
      expect(
        h
          .fakeTokens(tokenId)
          .filter((t) => t.status === 'ACTIVE')
          .map((t) => t.label),
      ).toEqual([`token-warden:${tokenId}:g1`]);
      expect(token.lastRotationError).toMatchObject({ message: expect.stringMatching(/generation 2 failed/) });
      expect(await rotationFailures(tokenId)).toEqual([
        expect.objectContaining({ details: expect.objectContaining({ generation: 2, source: 'secretsmanager' }) }),
      ]);
    });

    it('abandons the rotation when testSecret cannot verify the new token: revoked, pending dropped, recorded', async () => {
      // Prepare: generation 2 minted and staged under T.
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      await step('createSecret', secretArn, clientRequestToken);
      await step('setSecret', secretArn, clientRequestToken);
      const current = await h.deps.vault.read(
        secretName,
        (await h.deps.store.getToken(tokenId))!.generations[0]!.versionId,
      );
      await h.control('/__control/faults', { route: 'myself', status: 401, count: 50 });

      // Act
      const failed = step('testSecret', secretArn, clientRequestToken);

      // Assess
      await expect(failed).rejects.toThrow();
      await clearFaults();
      const token = await expectAbandoned(tokenId, secretName, clientRequestToken);
      const stages = await stagesOf(secretName);
      expect(Object.entries(stages).filter(([, labels]) => labels.includes('AWSCURRENT'))).toEqual([
        [token.generations[0]!.versionId, ['AWSCURRENT']],
      ]);
      expect(h.fakeTokens(tokenId).map((t) => [t.label, t.status])).toEqual([
        [`token-warden:${tokenId}:g1`, 'ACTIVE'],
        [`token-warden:${tokenId}:g2`, 'REVOKED'],
      ]);
      expect(await h.myself(current)).toBe(200);
      // Secrets Manager takes the next rotation.
      await expect(rotateSecret(secretArn)).resolves.toEqual(expect.any(String));
    });

    it('never promotes a token revoked between the steps, and revokes what the rotation minted', async () => {
      // Prepare: generation 2 minted, staged and verified; then the token is revoked (its record turns REVOKED).
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      for (const name of SECRET_ROTATION_STEPS.slice(0, 3)) await step(name, secretArn, clientRequestToken);
      const before = (await h.deps.store.getToken(tokenId))!;
      const { rotation: _lock, ...unlocked } = before;
      expect(await h.deps.store.saveToken({ ...unlocked, status: 'REVOKED' })).toBeDefined();

      // Act
      const finished = step('finishSecret', secretArn, clientRequestToken);

      // Assess
      await expect(finished).rejects.toThrow(/REVOKED/);
      expect(await h.deps.store.getToken(tokenId)).toMatchObject({ status: 'REVOKED', generation: 1 });
      expect(h.fakeTokens(tokenId).find((t) => t.label.endsWith(':g2'))?.status).toBe('REVOKED');
      expect((await stagesOf(secretName))[clientRequestToken] ?? []).not.toContain('AWSCURRENT');
      expect(started).toEqual([]);
      // Revoke told the owner; the abandoned rotation records no failure of its own.
      expect(await rotationFailures(tokenId)).toEqual([]);
    });

    it('changes nothing once the sweep took its stale lock over for the workflow: no discard, no promotion', async () => {
      // Prepare: Secrets Manager's rotation stopped after createSecret; the workflow's attempt 2 now holds the lock.
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      await step('createSecret', secretArn, clientRequestToken);
      const stopped = (await h.deps.store.getToken(tokenId))!;
      const { rotation: _smLock, ...unlocked } = stopped;
      const plan = { generation: 2, attempt: 2, executionName: `${tokenId}-g2-a2` };
      const workflowLock = lockRotation(unlocked, plan, '2026-01-01T00:00:00Z');
      expect(await h.deps.store.saveToken({ ...unlocked, ...workflowLock })).toBeDefined();
      await h.control('/__control/faults', { route: 'myself', status: 401, count: 50 });

      // Act: Secrets Manager runs the rest of its rotation again.
      const results = [];
      for (const name of SECRET_ROTATION_STEPS) {
        results.push(
          await step(name, secretArn, clientRequestToken).then(
            () => 'ok',
            (e: Error) => e.message,
          ),
        );
      }
      await clearFaults();

      // Assess: every step refused; the workflow's lock, mint and staged token are as it left them.
      expect(results).toEqual(SECRET_ROTATION_STEPS.map(() => expect.stringMatching(/no longer holds/)));
      const token = (await h.deps.store.getToken(tokenId))!;
      expect(token.rotation).toMatchObject({ generation: 2, attempt: 2 });
      expect(token.generation).toBe(1);
      expect((await h.deps.store.getMint(tokenId, 2))?.state).toBe('STAGED');
      expect(h.fakeTokens(tokenId).map((t) => t.status)).toEqual(['ACTIVE', 'ACTIVE']);
      expect((await stagesOf(secretName))[clientRequestToken]).toEqual(['AWSPENDING']);
      expect(started).toEqual([]);
      expect(await rotationFailures(tokenId)).toEqual([]);
    });

    it('releases the lock, drops AWSPENDING and records the failure even when Atlassian is down for the clean-up too', async () => {
      // Prepare
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      await h.control('/__control/faults', { route: '*', status: 503, count: 1_000 });

      // Act
      const failed = step('createSecret', secretArn, clientRequestToken);

      // Assess: the mint's own error, not the clean-up's; nothing left held.
      await expect(failed).rejects.toThrow();
      await clearFaults();
      await expectAbandoned(tokenId, secretName, clientRequestToken);
      await expect(rotateSecret(secretArn)).resolves.toEqual(expect.any(String));
    });

    it('refuses a secret whose tag names a token that is not its own', async () => {
      // Prepare: a second secret under the prefix, carrying a copy of the first token's tag.
      const { tokenId } = await pendingRotation();
      const other = await h.deps.vault.ensureSecret({
        name: `token-warden.jenkins-bot.copied-${tokenId.slice(4, 10)}`,
        kmsKeyId: 'alias/token-warden',
        description: 'a copy',
        tags: { 'token-warden:token-id': tokenId },
        consumers: [],
      });

      // Act
      const refused = step('createSecret', other, randomUUID());

      // Assess
      await expect(refused).rejects.toThrow(/is not the secret of token/);
      expect(h.fakeTokens(tokenId)).toHaveLength(1);
    });

    it('passes Secrets Manager’s configuration test without calling Atlassian', async () => {
      // Prepare
      const issued = await h.issuedToken();
      const { secretArn } = (await h.deps.store.getToken(issued.tokenId))!;
      const unreachable = new Proxy({} as Atlassian, {
        get: () => () => Promise.reject(new Error('Atlassian was called')),
      });
      const outcomes: SecretRotationOutcome[] = [];
      invoker = async (_arn, event) => {
        outcomes.push(await rotationStep({ ...rotationDeps(), atlassian: unreachable }, event));
      };

      // Act
      const versionId = await rotateSecret(secretArn, randomUUID(), false);

      // Assess
      expect(failures).toEqual([]);
      expect(outcomes.map((o) => [o.step, o.outcome])).toEqual([['testSecret', 'configuration-test']]);
      expect((await stagesOf(issued.secretName))[versionId] ?? []).not.toContain('AWSPENDING');
      const token = (await h.deps.store.getToken(issued.tokenId))!;
      expect(token.generation).toBe(1);
      expect(token.rotation).toBeUndefined();
    });
  });

  describe('Function: promoteToken (Secrets Manager sees the rotation)', () => {
    /** Issues a token as the issuance workflow does, its promotion knowing the rotation function. */
    async function issueWith(deps: SecretRotationDeps) {
      const request = await h.approvedRequest();
      const minted = await mintToken(deps, { requestId: request.requestId });
      await verifyToken(deps, minted);
      await promoteToken(deps, minted);
      await settled();
      return { ...minted, secretName: `token-warden.jenkins-bot.${request.name}` };
    }

    it('configures the secret to rotate with the rotation function, one day after Token Warden’s own rotation', async () => {
      // Prepare
      const outcomes: SecretRotationOutcome[] = [];
      invoker = async (_arn, event) => {
        outcomes.push(await rotationStep(rotationDeps(), event));
      };

      // Act
      const { tokenId, secretName } = await issueWith({ ...rotationDeps(), secretRotationFunctionArn: FUNCTION_ARN });

      // Assess
      const described = await h.deps.vault.describe(secretName);
      expect(described).toMatchObject({
        RotationEnabled: true,
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: { AutomaticallyAfterDays: secretsManagerRotationDays(30, h.deps.policy) },
      });
      expect(secretsManagerRotationDays(30, h.deps.policy)).toBe(30 - h.deps.policy.rotationLeadDays + 1);
      // Secrets Manager only tested the configuration: nothing was minted or rotated.
      expect(failures).toEqual([]);
      expect(outcomes.map((o) => [o.step, o.outcome])).toEqual([['testSecret', 'configuration-test']]);
      expect(h.fakeTokens(tokenId).map((t) => t.label)).toEqual([`token-warden:${tokenId}:g1`]);
      expect(Object.values(described?.VersionIdsToStages ?? {})).toEqual([['AWSCURRENT']]);
    });

    it('leaves a secret already configured so alone when the promotion runs again', async () => {
      // Prepare
      const deps = { ...rotationDeps(), secretRotationFunctionArn: FUNCTION_ARN };
      const invoked: RotationEvent[] = [];
      invoker = async (_arn, event) => {
        invoked.push(event);
        await rotationStep(rotationDeps(), event);
      };
      const minted = await issueWith(deps);

      // Act
      await promoteToken(deps, minted);
      await settled();

      // Assess: one configuration test only.
      expect(invoked.map((e) => e.Step)).toEqual(['testSecret']);
    });

    it('never fails a promotion when Secrets Manager refuses the configuration, and says so in a warning', async () => {
      // Prepare: RotateSecret is refused (a permission not yet in place, as Secrets Manager reports it).
      const warnings: [string, Record<string, unknown>][] = [];
      const refusing = Object.assign(Object.create(h.deps.vault), {
        configureRotation: async () => {
          throw Object.assign(new Error('Secrets Manager cannot invoke the specified Lambda function.'), {
            name: 'AccessDeniedException',
          });
        },
      });
      const deps = {
        ...rotationDeps(),
        vault: refusing,
        secretRotationFunctionArn: FUNCTION_ARN,
        log: { warn: (message: string, attributes: Record<string, unknown>) => warnings.push([message, attributes]) },
      };

      // Act
      const { tokenId, secretName } = await issueWith(deps);

      // Assess
      expect((await h.deps.store.getToken(tokenId))?.status).toBe('ACTIVE');
      expect((await h.deps.store.getMint(tokenId, 1))?.state).toBe('PROMOTED');
      expect(warnings).toEqual([
        [
          'Secrets Manager refused the rotation configuration',
          expect.objectContaining({ secretName, errorName: 'AccessDeniedException' }),
        ],
      ]);
    });

    it('configures no rotation for an account issued by hand, nor without the rotation function', async () => {
      // Prepare
      invoker = async () => {
        throw new Error('Secrets Manager invoked the rotation function');
      };
      const issued = await h.issuedToken();

      // Act: promotion without the function (the harness's), and a manual account's secret.
      const manual: Policy = {
        ...h.deps.policy,
        serviceAccounts: h.deps.policy.serviceAccounts.map((a) => ({ ...a, issuance: 'manual' as const })),
      };
      const generation1 = (await h.deps.store.getToken(issued.tokenId))!.generations[0]!;
      await promoteToken(
        { ...rotationDeps(), policy: manual, secretRotationFunctionArn: FUNCTION_ARN },
        {
          tokenId: issued.tokenId,
          generation: generation1.generation,
        },
      );
      await settled();

      // Assess
      const described = await h.deps.vault.describe(issued.secretName);
      expect(described?.RotationEnabled ?? false).toBe(false);
      expect(failures).toEqual([]);
    });
  });

  describe('Function: beginRotation', () => {
    it('never takes a Secrets Manager lock for its own, even with the same generation and attempt', async () => {
      // Prepare: Secrets Manager's createSecret holds the lock for generation 2, attempt 1.
      const { tokenId, secretName, secretArn, clientRequestToken } = await pendingRotation();
      await step('createSecret', secretArn, clientRequestToken);
      expect((await h.deps.store.getToken(tokenId))?.rotation).toMatchObject({
        generation: 2,
        attempt: 1,
        source: 'secretsmanager',
        clientRequestToken,
      });

      // Act: the scheduled execution `-g2-a1` begins.
      const begun = await beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 });

      // Assess: it does not proceed, and Secrets Manager's rotation completes.
      expect(begun).toMatchObject({ proceed: false, reason: 'rotating' });
      for (const name of SECRET_ROTATION_STEPS.slice(1)) await step(name, secretArn, clientRequestToken);
      await expectRotated(tokenId, secretName, clientRequestToken);
    });
  });
});
