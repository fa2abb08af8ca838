/**
 * End to end: crash recovery. The real local runtime is killed with SIGKILL (no shutdown code runs) in the middle
 * of an approval wait and in the middle of a rotation, then started again on the same data dir and ports. Work that
 * was in flight must resume (executions that were running are re-driven from their input under the same ARN, or
 * the daily sweep picks the token up): nothing lost, nothing done twice — no second approval email, no second
 * token, no orphan token left ACTIVE at Atlassian, one "Token rotated" email.
 */

import {
  LocalRuntime,
  linkLines,
  type RequestView,
  requestBody,
  SEED,
  type StoredEmail,
  waitFor,
} from '../../local/driver';
import type { TokenView } from './support/rotation';
import { clearFaults, fakeTokensOf, injectFault, myself, readSecret, rotationExecutions } from './support/rotation';

jest.setTimeout(600_000);

let rt: LocalRuntime;

beforeAll(async () => {
  rt = await LocalRuntime.start('crash');
});

afterAll(async () => {
  await rt?.dispose();
});

afterEach(async () => {
  await clearFaults(rt);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getToken(tokenId: string, email: string = SEED.alice): Promise<TokenView> {
  const answer = await rt.api('GET', `/tokens/${tokenId}`, { token: await rt.memberToken(email) });
  if (answer.status !== 200) throw new Error(`GET /tokens/${tokenId} answered ${answer.status}: ${answer.text}`);
  return answer.json as TokenView;
}

/** Alice asks for a token named `name`; resolves with the request id and its two approval links. */
async function submit(name: string) {
  const alice = await rt.memberToken(SEED.alice);
  const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody(name) });
  expect(created.status).toBe(202);
  const { requestId } = created.json as RequestView;
  const links = await rt.waitForApprovalLinks(requestId, 2);
  return { requestId, links };
}

/** SIGKILL, then a start on the same data dir and ports; the killed process must have died of the signal. */
async function crashAndRestart(): Promise<void> {
  expect(await rt.kill()).toEqual({ code: null, signal: 'SIGKILL' });
  await rt.restart();
}

/** The operations of the runtime's call log (AWS and Atlassian calls). */
async function callOperations(): Promise<string[]> {
  const answer = await rt.api('GET', '/local/calls');
  return ((answer.json as { calls: { operation: string }[] }).calls ?? []).map((c) => c.operation);
}

const rotatedMails = async (tokenId: string): Promise<StoredEmail[]> =>
  (await rt.emailsAbout(tokenId)).filter((e) => /^Token rotated:/.test(e.subject));

describe('Crash recovery of the local runtime (SIGKILL, restart on the same data dir)', () => {
  it('survives a SIGKILL during the approval wait: the pre-crash link approves, one token, no second approval email', async () => {
    const { requestId, links } = await submit('crash-approval');
    const mailBefore = (await rt.emails()).length;

    await crashAndRestart();

    // The re-driven execution runs `Request approval` again (idempotently); wait until it has, so that a second
    // approval email, if one were sent, would be in the store by the time it is checked.
    await waitFor(
      async () => (await callOperations()).some((op) => /RequestApproval/.test(op)),
      30_000,
      'the re-driven Request approval step',
    );

    const link = links.find((l) => l.to === SEED.approver1)!;
    const { page, answer } = await rt.decide(link.link, 'approve');
    expect(page.status).toBe(200);
    expect(answer.status).toBe(200);
    const alice = await rt.memberToken(SEED.alice);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED', 60_000);
    expect(issued.tokenId).toEqual(expect.any(String));

    // Exactly one token at Atlassian for this request's token, and it works.
    const minted = (await rt.fakeTokens()).filter((t) => t.label.startsWith(`token-warden:${issued.tokenId}:`));
    expect(minted.map((t) => `${t.label.replace(`token-warden:${issued.tokenId}:`, '')}: ${t.status}`)).toEqual([
      'g1: ACTIVE',
    ]);
    expect((await myself(rt, await readSecret(rt, issued.secretName!))).status).toBe(200);

    // Still the two approval emails from before the crash, and no email with a link came after it.
    expect(await rt.approvalLinks(requestId)).toHaveLength(2);
    const after = (await rt.emails()).slice(mailBefore);
    expect(after.filter((e) => linkLines(e.body.text ?? '').length > 0)).toEqual([]);
    expect(await getToken(issued.tokenId!)).toMatchObject({ status: 'ACTIVE', generation: 1 });
  });

  it('survives a SIGKILL while a rotation mint is in flight: generation 2, no orphan token, one "rotated" email', async () => {
    // Issue a token (the usual path, no crash).
    const { requestId, links } = await submit('crash-rotation');
    const { answer } = await rt.decide(links.find((l) => l.to === SEED.approver1)!.link, 'approve');
    expect(answer.status).toBe(200);
    const alice = await rt.memberToken(SEED.alice);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    const tokenId = issued.tokenId!;
    const secretName = issued.secretName!;
    const g1 = await readSecret(rt, secretName);
    expect((await myself(rt, g1)).status).toBe(200);

    // A slow mint keeps the rotation in the middle of its mint for 4 s; the crash comes about 1 s into it.
    await injectFault(rt, { route: 'mint', count: 1, delayMs: 4_000 });
    const started = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: alice });
    expect(started.status).toBe(202);
    await waitFor(async () => (await getToken(tokenId)).status === 'ROTATING', 10_000, `${tokenId} to be ROTATING`);
    await sleep(1_000);
    // Still mid-mint at the moment of the crash: not promoted yet.
    expect(await getToken(tokenId)).toMatchObject({ status: 'ROTATING', generation: 1 });
    const crashedAt = Date.now();

    await crashAndRestart();
    const restartedIn = Date.now() - crashedAt;

    // The re-driven execution should finish the rotation by itself; if it does not within 30 s, the daily sweep
    // (which takes over a lock older than 2 h) must — move the clock a day for it.
    const reached = async () => {
      const token = await getToken(tokenId);
      return token.generation >= 2 && token.status === 'ACTIVE' ? token : undefined;
    };
    let path = 're-driven execution';
    let rotated = await waitFor(reached, 30_000, `${tokenId} to reach generation 2 after the restart`).catch(
      () => undefined,
    );
    if (!rotated) {
      path = 'daily sweep';
      await rt.advance({ days: 1 });
      rotated = await waitFor(reached, 60_000, `${tokenId} to reach generation 2 after the daily sweep`);
    }
    console.log(`crash mid-rotation: restart took ${restartedIn} ms; generation 2 reached by the ${path}`);
    expect(rotated).toMatchObject({ status: 'ACTIVE', generation: 2, secretName });

    // AWSCURRENT is a new value that works at Atlassian.
    const g2 = await readSecret(rt, secretName);
    expect(g2).not.toBe(g1);
    expect((await myself(rt, g2)).status).toBe(200);

    // At most one ACTIVE token per generation at Atlassian, and only generations 1 (grace) and 2 (current).
    const statuses = async () =>
      (await fakeTokensOf(rt, tokenId)).map((t) => ({
        generation: t.label.replace(`token-warden:${tokenId}:`, ''),
        status: t.status,
      }));
    const during = await statuses();
    const activeDuring = during.filter((t) => t.status === 'ACTIVE').map((t) => t.generation);
    expect(activeDuring.filter((g) => g === 'g2')).toEqual(['g2']);
    expect(activeDuring.every((g) => g === 'g1' || g === 'g2')).toBe(true);
    for (const t of during) if (t.status !== 'ACTIVE') expect(t.status).toBe('REVOKED');

    // After the grace period: only the current generation is ACTIVE; every other token of this id is REVOKED.
    const grace = await rt.advance({ hours: 25 });
    expect(grace.settled).toBe(true);
    const final = await statuses();
    expect(final.filter((t) => t.status === 'ACTIVE')).toEqual([{ generation: 'g2', status: 'ACTIVE' }]);
    for (const t of final) if (t.status !== 'ACTIVE') expect(t.status).toBe('REVOKED');
    expect(final.some((t) => t.generation === 'g1' && t.status === 'REVOKED')).toBe(true);
    expect((await myself(rt, g1)).status).toBe(401);
    expect((await myself(rt, await readSecret(rt, secretName))).status).toBe(200);
    expect(await getToken(tokenId)).toMatchObject({ status: 'ACTIVE', generation: 2 });

    // The owner is told exactly once.
    const mails = await waitFor(
      async () => {
        const found = await rotatedMails(tokenId);
        return found.length >= 1 ? found : undefined;
      },
      30_000,
      `the "Token rotated" email about ${tokenId}`,
    );
    expect(mails.map((m) => m.destination.to)).toEqual([[SEED.alice]]);

    const executions = await rotationExecutions(rt, tokenId);
    console.log(`crash mid-rotation: executions ${JSON.stringify(executions.map((e) => [e.name, e.status]))}`);
    expect(executions.filter((e) => e.status === 'RUNNING')).toEqual([]);
  });
});
