/**
 * A revoke holds under every interleaving with the operations that mint: a manual rotate, a scheduled rotation, the
 * sweep, and a rotation in any step. Each operation runs the real use cases against the emulators; every port call
 * is a pause point of the {@link Interleaver}, so each run is one exact interleaving. Workflows are modelled as they
 * run on AWS: the rotation's steps in order (a stopped execution runs no further step, but the step in flight
 * finishes), a failed minting step goes through `Discard staged token` and `Record rotation failure`, and the
 * revocation workflow's final sweep runs once every step that was in flight has ended.
 */
import { DescribeSecretCommand, GetResourcePolicyCommand } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import type { Workflows } from '../../../functions/adapters/aws/workflow';
import { rotationExecutionName } from '../../../functions/domain/naming';
import { discardToken, mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { promoteToken } from '../../../functions/use-cases/promote';
import { finishRevocation, type RevokeDeps, revokeToken } from '../../../functions/use-cases/revoke';
import {
  beginRotation,
  type RotationInput,
  recordRotationFailure,
  revokePreviousGenerations,
  rotateNow,
} from '../../../functions/use-cases/rotation';
import { sweep } from '../../../functions/use-cases/sweep';
import { useHarness } from '../../support/harness';
import { type Chooser, fromChoices, Interleaver, insertAt, othersFirstFor } from '../../support/interleave';

const ses = mockClient(SESv2Client);
const admin = { email: 'admin@example.com', isAdmin: true };
const ROTATION_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:rotation';

const h = useHarness(ses);

const issued = () => h.issuedToken();

/** The ports of one operation, each call a pause point of it. */
function portsOf(il: Interleaver, op: string) {
  return {
    ...h.deps,
    store: il.wrap(op, 'store', h.deps.store),
    audit: il.wrap(op, 'audit', h.deps.audit),
    vault: il.wrap(op, 'vault', h.deps.vault),
    atlassian: il.wrap(op, 'atlassian', h.deps.atlassian),
    schedules: il.wrap(op, 'schedules', h.deps.schedules),
    mailer: il.wrap(op, 'mailer', h.deps.mailer),
  };
}

class Stopped extends Error {}

/** The run: which executions revoke stopped, and the outcome of each rotation execution. */
interface World {
  il: Interleaver;
  stopped: Set<string>;
  outcomes: Map<string, string>;
}

/** The rotation workflow of one execution, step by step, as Step Functions runs it. */
function spawnRotation(world: World, input: RotationInput): void {
  const name = rotationExecutionName(input.tokenId, input.generation, input.attempt);
  const deps = portsOf(world.il, name);
  const step = async <T>(run: () => Promise<T>): Promise<T> => {
    if (world.stopped.has(name)) throw new Stopped();
    return run();
  };
  world.il.spawn(name, async () => {
    try {
      const begun = await step(() => beginRotation(deps, input));
      if (!begun.proceed) return world.outcomes.set(name, 'Nothing to rotate');
      try {
        const minted = await step(() => mintToken(deps, input));
        await step(() => verifyToken(deps, minted));
        await step(() => promoteToken(deps, minted));
      } catch (error) {
        if (error instanceof Stopped) throw error;
        await step(() => discardToken(deps, input));
        await step(() => recordRotationFailure(deps, { ...input, error: { Error: (error as Error).name } }));
        return world.outcomes.set(name, 'Rotation failed');
      }
      await step(() => revokePreviousGenerations(deps, input));
      return world.outcomes.set(name, 'Rotated');
    } catch (error) {
      if (error instanceof Stopped) return world.outcomes.set(name, 'Stopped');
      throw error;
    }
  });
}

/** Starting a rotation execution spawns it as another operation. */
function workflowsOf(world: World, op: string): Workflows {
  return {
    start: world.il.wrapFn(op, 'workflows.start', async (_arn: string, name: string, input: object) => {
      // The same name and input while running is the same execution (AWS's rule).
      if (!world.il.has(name)) spawnRotation(world, input as RotationInput);
      return `arn:execution:${name}`;
    }),
  } as unknown as Workflows;
}

/** Revoke over the API; the revocation workflow it starts runs its first passes at the same time. */
function revokeOp(world: World, tokenId: string): void {
  const stopRotation = (op: string) =>
    world.il.wrapFn(op, 'workflows.stop', async (name: string) => void world.stopped.add(name));
  const deps: RevokeDeps = {
    ...portsOf(world.il, 'revoke'),
    stopRotation: stopRotation('revoke'),
    startRevocation: world.il.wrapFn('revoke', 'workflows.startRevocation', async (name: string) => {
      if (world.il.has(name)) return;
      const workflow = { ...portsOf(world.il, name), stopRotation: stopRotation(name) };
      world.il.spawn(name, async () => {
        for (let pass = 0; pass < 10; pass++) if ((await finishRevocation(workflow, { tokenId })).done) return;
      });
    }),
  };
  world.il.spawn('revoke', () => revokeToken(deps, admin, tokenId, 'leaked'));
}

function rotateNowOp(world: World, tokenId: string): void {
  const deps = {
    ...portsOf(world.il, 'rotate'),
    workflows: workflowsOf(world, 'rotate'),
    rotationStateMachineArn: ROTATION_ARN,
  };
  world.il.spawn('rotate', () => rotateNow(deps, admin, tokenId));
}

function sweepOp(world: World): void {
  const deps = {
    ...portsOf(world.il, 'sweep'),
    workflows: workflowsOf(world, 'sweep'),
    rotationStateMachineArn: ROTATION_ARN,
  };
  world.il.spawn('sweep', () => sweep(deps));
}

/** Makes the token due now, as it is when its schedule fires or the sweep finds it. */
async function makeDue(tokenId: string): Promise<void> {
  const token = (await h.deps.store.getToken(tokenId))!;
  await h.deps.store.saveToken({ ...token, nextRotationAt: new Date(h.clock.now().getTime() - 60_000).toISOString() });
}

/** What must hold once revoke answered and every step in flight ended (the revocation workflow included). */
async function expectRevokeHeld(tokenId: string, secretName: string) {
  const token = await h.deps.store.getToken(tokenId);
  expect(token?.status).toBe('REVOKED');
  expect(h.fakeTokens(tokenId).filter((t) => t.status !== 'REVOKED')).toEqual([]);
  const described = await h.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
  expect(described.DeletedDate).toBeDefined();
  const policy = await h.sm.send(new GetResourcePolicyCommand({ SecretId: secretName }));
  expect(policy.ResourcePolicy).toBeUndefined();
  expect(h.schedules.schedules.has(tokenId)).toBe(false);
}

/** The revocation workflow: `Finish revocation` until done, then the final sweep after every step in flight. */
async function revocationWorkflow(tokenId: string) {
  const deps = { ...h.deps, stopRotation: async () => undefined };
  for (let pass = 0; pass < 10; pass++) {
    if ((await finishRevocation(deps, { tokenId })).done) break;
  }
  expect((await finishRevocation(deps, { tokenId, final: true })).done).toBe(true);
}

type Scenario = (world: World, tokenId: string) => Promise<void> | void;

/** One exact run: the token issued (and due), the operations spawned, the schedule applied, the invariants checked. */
async function runOnce(scenario: Scenario, choose: Chooser, opts: { lostMint?: boolean } = {}) {
  const { tokenId, secretName } = await issued();
  await makeDue(tokenId);
  if (opts.lostMint) await h.control('/__control/faults', { route: 'mint', status: 500, count: 1 });
  const world: World = { il: new Interleaver(), stopped: new Set(), outcomes: new Map() };
  await scenario(world, tokenId);
  const results = await world.il.run(choose);
  await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
  const revoked = results.get('revoke');
  if (revoked?.status !== 'fulfilled')
    throw (revoked as PromiseRejectedResult | undefined)?.reason ?? new Error('no revoke');
  expect(revoked.value).toMatchObject({ status: 'REVOKED', tokenId });
  if (!opts.lostMint) {
    // Without a lost response, nothing is live once the steps in flight ended, even before the final sweep.
    expect(h.fakeTokens(tokenId).filter((t) => t.status !== 'REVOKED')).toEqual([]);
  }
  await revocationWorkflow(tokenId);
  await expectRevokeHeld(tokenId, secretName);
  // A repeated revoke re-checks everything and changes nothing that holds.
  const again = await revokeToken(
    { ...h.deps, stopRotation: async () => undefined, startRevocation: async () => undefined },
    admin,
    tokenId,
    'again',
  );
  expect(again.status).toBe('REVOKED');
  await expectRevokeHeld(tokenId, secretName);
  return { trace: world.il.trace, outcomes: world.outcomes };
}

/** How many pause points `op` passes when it runs alone. */
async function pausePoints(scenario: Scenario, op: string): Promise<number> {
  const { trace } = await runOnce(scenario, insertAt(op, Number.MAX_SAFE_INTEGER));
  return trace.filter((p) => p.op.startsWith(op)).length;
}

const scheduledRotation: Scenario = (world, tokenId) => {
  spawnRotation(world, { tokenId, generation: 2, attempt: 1 });
  revokeOp(world, tokenId);
};
const manualRotation: Scenario = (world, tokenId) => {
  rotateNowOp(world, tokenId);
  revokeOp(world, tokenId);
};
const sweepRotation: Scenario = (world, tokenId) => {
  sweepOp(world);
  revokeOp(world, tokenId);
};

describe('revoke under every interleaving with a rotation', () => {
  jest.setTimeout(300_000);

  it('a scheduled rotation, revoke inserted at each of its pause points (mint in flight, promotion, retire)', async () => {
    const points = await pausePoints(scheduledRotation, 'tok_');
    expect(points).toBeGreaterThan(15);
    const outcomes = new Set<string>();
    for (let k = 0; k <= points; k++) {
      const run = await runOnce(scheduledRotation, othersFirstFor('revoke', k));
      for (const outcome of run.outcomes.values()) outcomes.add(outcome);
    }
    // Both ends were reached: rotations revoked before they began, and rotations stopped or failed mid-way.
    expect(outcomes.has('Nothing to rotate')).toBe(true);
    expect([...outcomes].some((o) => o === 'Stopped' || o === 'Rotation failed')).toBe(true);
  });

  it('a rotation, each of revoke’s pause points giving way to the whole rotation', async () => {
    const points = await pausePoints(scheduledRotation, 'revoke');
    expect(points).toBeGreaterThan(8);
    for (let k = 0; k <= points; k++) await runOnce(scheduledRotation, insertAt('revoke', k));
  });

  it('a manual rotate and the sweep, revoke inserted at each of their pause points', async () => {
    for (const scenario of [manualRotation, sweepRotation]) {
      const points = await pausePoints(scenario, scenario === manualRotation ? 'rotate' : 'sweep');
      for (let k = 0; k <= points + 12; k += 2) {
        await runOnce(scenario, othersFirstFor('revoke', k));
      }
    }
  });

  it('a lost mint response while revoke stops the rotation leaves nothing live after the final sweep', async () => {
    const points = await pausePoints(scheduledRotation, 'tok_');
    for (let k = 0; k <= points; k += 2) {
      await runOnce(scheduledRotation, othersFirstFor('revoke', k), { lostMint: true });
    }
  });

  it('random interleavings of revoke with a manual rotate and a scheduled rotation at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 5 }), { minLength: 10, maxLength: 120 }), async (choices) => {
        await runOnce((world, tokenId) => {
          spawnRotation(world, { tokenId, generation: 2, attempt: 1 });
          rotateNowOp(world, tokenId);
          revokeOp(world, tokenId);
        }, fromChoices(choices));
      }),
      { numRuns: 25, seed: 20261203 },
    );
  });
});
