/**
 * Lambdas and Step Functions deliver at least once: every step of issuance and rotation, invoked twice with the same
 * input, must leave exactly what one invocation leaves — one token per generation at Atlassian, one secret version
 * per generation, one audit record per event, one email per recipient.
 */
import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { closeRequest } from '../../../functions/use-cases/close-request';
import { discardToken, mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { promoteToken } from '../../../functions/use-cases/promote';
import { beginRotation, recordRotationFailure, revokePreviousGenerations } from '../../../functions/use-cases/rotation';
import { useHarness } from '../../support/harness';

const ses = mockClient(SESv2Client);
const twice = async <T>(step: () => Promise<T>): Promise<T> => {
  const first = await step();
  const second = await step();
  expect(second).toEqual(first);
  return second;
};

const h = useHarness(ses);

describe('every step twice', () => {
  it('issuance and one rotation leave one token per generation, one version per generation, each audit record once', async () => {
    const request = await h.approvedRequest();
    const minted = await twice(() => mintToken(h.deps, { requestId: request.requestId }));
    await twice(() => verifyToken(h.deps, minted));
    await twice(() => promoteToken(h.deps, minted));
    const { tokenId } = minted;

    await twice(() => beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 }));
    const rotated = await twice(() => mintToken(h.deps, { tokenId, generation: 2 }));
    await twice(() => verifyToken(h.deps, rotated));
    await twice(() => promoteToken(h.deps, rotated));
    // The second run finds nothing left to revoke (its count differs; what it leaves does not).
    expect(await revokePreviousGenerations(h.deps, { tokenId, generation: 2 })).toEqual({ revoked: 1 });
    expect(await revokePreviousGenerations(h.deps, { tokenId, generation: 2 })).toEqual({ revoked: 0 });

    const atAtlassian = h.fakeTokens(tokenId);
    expect(atAtlassian.map((t) => [t.label.split(':').pop(), t.status])).toEqual([
      ['g1', 'REVOKED'],
      ['g2', 'ACTIVE'],
    ]);
    const versions = await h.sm.send(
      new ListSecretVersionIdsCommand({
        SecretId: `token-warden.jenkins-bot.${request.name}`,
        IncludeDeprecated: true,
      }),
    );
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual([minted.versionId, rotated.versionId].sort());
    const audit = await h.deps.audit.list(request.requestId);
    expect(audit.map((r) => r.event)).toEqual(['ISSUED', 'ROTATED']);
    const recipients = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);
    // ISSUED to requester and both approvers, ROTATED to the owner: each once.
    expect(recipients.sort()).toEqual([
      'alice@example.com',
      'alice@example.com',
      'approver1@example.com',
      'approver2@example.com',
    ]);
  });

  it('the failure paths: discard and record twice revoke once and record once', async () => {
    const request = await h.approvedRequest();
    const minted = await mintToken(h.deps, { requestId: request.requestId });
    await verifyToken(h.deps, minted);
    await promoteToken(h.deps, minted);
    await beginRotation(h.deps, { tokenId: minted.tokenId, generation: 2, attempt: 1 });
    await mintToken(h.deps, { tokenId: minted.tokenId, generation: 2 });
    await twice(() => discardToken(h.deps, { tokenId: minted.tokenId, generation: 2 }).then(() => 'done'));
    const failure = { tokenId: minted.tokenId, generation: 2, attempt: 1, error: { Error: 'TokenVerificationError' } };
    await recordRotationFailure(h.deps, failure);
    await recordRotationFailure(h.deps, failure);
    const audit = await h.deps.audit.list(request.requestId);
    expect(audit.filter((r) => r.event === 'ROTATION_FAILED')).toHaveLength(1);
    expect(
      h
        .fakeTokens(minted.tokenId)
        .filter((t) => t.status === 'ACTIVE')
        .map((t) => t.label),
    ).toEqual([`token-warden:${minted.tokenId}:g1`]);
  });

  it('a discard after a promotion that moved AWSCURRENT but failed before recording it leaves the current token working', async () => {
    // Prepare: generation 2 minted and verified; its promotion moved AWSCURRENT to it, then failed for good.
    const request = await h.approvedRequest();
    const minted = await mintToken(h.deps, { requestId: request.requestId });
    await verifyToken(h.deps, minted);
    await promoteToken(h.deps, minted);
    const { secretName } = (await h.deps.store.getToken(minted.tokenId))!;
    await beginRotation(h.deps, { tokenId: minted.tokenId, generation: 2, attempt: 1 });
    const second = await mintToken(h.deps, { tokenId: minted.tokenId, generation: 2 });
    await verifyToken(h.deps, second);
    const mint2 = (await h.deps.store.getMint(minted.tokenId, 2))!;
    await h.deps.vault.promote(secretName, mint2.versionId);

    // Act: the workflow's Catch discards the generation, twice.
    await twice(() => discardToken(h.deps, { tokenId: minted.tokenId, generation: 2 }).then(() => 'done'));

    // Assess: AWSCURRENT is back on generation 1, which Atlassian still accepts; generation 2 is revoked.
    const described = await h.deps.vault.describe(secretName);
    const current = Object.entries(described?.VersionIdsToStages ?? {}).find(([, l]) => l.includes('AWSCURRENT'))?.[0];
    const mint1 = (await h.deps.store.getMint(minted.tokenId, 1))!;
    expect(current).toBe(mint1.versionId);
    const value = await h.deps.vault.read(secretName, mint1.versionId);
    expect(await h.myself(value)).toBe(200);
    expect(h.fakeTokens(minted.tokenId).map((t) => [t.label, t.status])).toEqual([
      [`token-warden:${minted.tokenId}:g1`, 'ACTIVE'],
      [`token-warden:${minted.tokenId}:g2`, 'REVOKED'],
    ]);
    expect((await h.deps.store.getToken(minted.tokenId))?.generation).toBe(1);
  });

  it('a discard never revokes the generation the token record already names current', async () => {
    // Prepare: generation 2's promotion recorded it, then failed before marking its mint PROMOTED.
    const request = await h.approvedRequest();
    const minted = await mintToken(h.deps, { requestId: request.requestId });
    await verifyToken(h.deps, minted);
    await promoteToken(h.deps, minted);
    await beginRotation(h.deps, { tokenId: minted.tokenId, generation: 2, attempt: 1 });
    const second = await mintToken(h.deps, { tokenId: minted.tokenId, generation: 2 });
    await verifyToken(h.deps, second);
    await promoteToken(h.deps, second);
    const mint2 = (await h.deps.store.getMint(minted.tokenId, 2))!;
    await h.deps.store.putMint({ ...mint2, state: 'VERIFIED' });

    // Act
    const result = await discardToken(h.deps, { tokenId: minted.tokenId, generation: 2 });

    // Assess
    expect(result).toEqual({ revoked: 0 });
    expect(h.fakeTokens(minted.tokenId).find((t) => t.label.endsWith(':g2'))?.status).toBe('ACTIVE');
  });

  it('a first issuance whose promotion recorded the token, then failed, keeps it; closing the issued request tells nobody', async () => {
    // Prepare: generation 1 promoted, its mint left VERIFIED as by a promotion that failed after recording.
    const request = await h.approvedRequest();
    const minted = await mintToken(h.deps, { requestId: request.requestId });
    await verifyToken(h.deps, minted);
    await promoteToken(h.deps, minted);
    const mint1 = (await h.deps.store.getMint(minted.tokenId, 1))!;
    await h.deps.store.putMint({ ...mint1, state: 'VERIFIED' });
    ses.resetHistory();

    // Act: the workflow's Catch path, Discard staged token then Fail request.
    const discarded = await discardToken(h.deps, { requestId: request.requestId });
    const closed = await closeRequest(h.deps, { requestId: request.requestId, outcome: 'FAILED' });

    // Assess
    expect(discarded).toEqual({ revoked: 0 });
    expect(h.fakeTokens(minted.tokenId).map((t) => t.status)).toEqual(['ACTIVE']);
    expect(closed).toEqual({ status: 'ISSUED' });
    expect((await h.deps.audit.list(request.requestId)).map((r) => r.event)).not.toContain('REJECTED');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('closing a request twice notifies and audits once', async () => {
    const request = await h.approvedRequest();
    await h.deps.store.saveRequest({
      ...(await h.deps.store.getRequest(request.requestId))!,
      status: 'PENDING_APPROVAL',
    });
    await twice(() => closeRequest(h.deps, { requestId: request.requestId, outcome: 'EXPIRED' }));
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(3);
    const audit = await h.deps.audit.list(request.requestId);
    expect(audit.map((r) => r.event)).toEqual(['EXPIRED']);
  });
});
