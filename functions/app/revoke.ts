import type { AtlassianClient } from '../adapters/atlassian/client';
import type { AuditLog } from '../adapters/aws/audit-log';
import type { Mailer } from '../adapters/aws/mailer';
import type { RecordStore, StoredToken } from '../adapters/aws/record-store';
import type { TokenVault } from '../adapters/aws/token-vault';
import { conflict, forbidden, notFound, validationError } from '../domain/errors';
import { type Caller, toTokenRepresentation } from '../domain/model';
import { mintLabel, rotationExecutionName } from '../domain/naming';
import { findServiceAccount, type Policy } from '../domain/policy';
import { type Clock, isoSeconds } from '../domain/ports';
import type { RotationScheduler } from './issuance';
import { notifyMarked } from './rotation';
import { TOKEN_ID } from './tokens';

export interface RevokeDeps {
  store: RecordStore;
  audit: AuditLog;
  atlassian: AtlassianClient;
  vault: TokenVault;
  schedules: RotationScheduler;
  stopRotation: (executionName: string) => Promise<void>;
  mailer: Mailer;
  clock: Clock;
  policy: Policy;
}

/** Parses `{"reason"?}` (≤ 500 characters; `unspecified` when absent). */
export function parseRevokeBody(body: unknown): string {
  if (body === undefined) return 'unspecified';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError(undefined, 'body must be a JSON object');
  }
  const unknown = Object.keys(body).find((k) => k !== 'reason');
  if (unknown !== undefined) throw validationError(unknown, `unknown property '${unknown}'`);
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) return 'unspecified';
  if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 500) {
    throw validationError('reason', 'reason must be a non-empty string of at most 500 characters');
  }
  return reason.trim();
}

/**
 * `POST /tokens/{id}/revoke` (admins): revokes every generation still live at Atlassian (current, in grace,
 * pending), deletes the schedule, stops a running rotation, removes the secret's readers, schedules the secret's
 * deletion (7-day recovery window), records who and why, and tells the owner. Every step is idempotent, and the
 * record turns `REVOKED` only after them, so a failed attempt is completed by repeating the call; repeating it after
 * success returns the same representation.
 */
export async function revokeToken(deps: RevokeDeps, caller: Caller, tokenId: string, reason: string) {
  if (!caller.isAdmin) throw forbidden('only admins can revoke tokens');
  const token = TOKEN_ID.test(tokenId) ? await deps.store.getToken(tokenId) : undefined;
  if (!token) throw notFound('token not found');
  if (token.status === 'REVOKED') return toTokenRepresentation(token);

  // Stop the rotation in progress, and also the last one started: after promotion it may still be waiting out its
  // grace period, and must not go on to report the token rotated.
  const attempts = [token.rotation, token.lastRotationAttempt].filter(
    (a): a is { generation: number; attempt: number } => !!a,
  );
  for (const name of new Set(attempts.map((a) => rotationExecutionName(token.tokenId, a.generation, a.attempt)))) {
    await deps.stopRotation(name);
  }
  await deps.schedules.remove(token.tokenId);
  const account = findServiceAccount(deps.policy, token.serviceAccount);
  if (account) {
    for (const g of token.generations.filter((g) => !g.revokedAt)) {
      await deps.atlassian.revokeToken(account.atlassianId, g.atlassianTokenId);
    }
    // A pending generation (a rotation stopped mid-way) is found by its label.
    const pending = new Set(
      [token.generation + 1, token.rotation?.generation ?? 0]
        .filter((g) => g > token.generation)
        .map((g) => mintLabel(token.tokenId, g)),
    );
    for (const listed of await deps.atlassian.listTokens(account.atlassianId)) {
      if (pending.has(listed.label)) await deps.atlassian.revokeToken(account.atlassianId, listed.id);
    }
  }
  if (await deps.vault.describe(token.secretName)) {
    await deps.vault.removeReaders(token.secretName);
    await deps.vault.scheduleDeletion(token.secretName);
  }

  const at = isoSeconds(deps.clock.now());
  let saved: StoredToken | undefined;
  for (let attempt = 0; attempt < 5 && !saved; attempt++) {
    const current = attempt === 0 ? token : await deps.store.getToken(tokenId);
    if (!current) throw notFound('token not found');
    if (current.status === 'REVOKED') return toTokenRepresentation(current);
    const { nextRotationAt: _next, rotation: _rotation, ...rest } = current;
    saved = await deps.store.saveToken({
      ...rest,
      status: 'REVOKED',
      revokedAt: at,
      revokedBy: caller.email,
      revokeReason: reason,
      generations: current.generations.map((g) => ({ ...g, revokedAt: g.revokedAt ?? at })),
    });
  }
  if (!saved) throw conflict('the token changed concurrently; retry');
  // A promotion racing this revoke may have scheduled the next rotation after the first delete.
  await deps.schedules.remove(saved.tokenId);
  await deps.store.releaseName(saved.serviceAccount, saved.name, saved.requestId);
  await deps.audit.append(
    {
      correlationId: saved.correlationId,
      event: 'REVOKED',
      at,
      actor: caller.email,
      requestId: saved.requestId,
      tokenId: saved.tokenId,
      details: { reason },
    },
    'revoked',
  );
  await notifyMarked(deps, `${saved.tokenId}:revoked`, [saved.owner], {
    subject: `Token revoked: ${saved.serviceAccount} "${saved.name}"`,
    text: [
      `Token ${saved.tokenId} (${saved.secretName}) was revoked by ${caller.email}.`,
      `Reason: ${reason}`,
      'Every generation of it is revoked at Atlassian and its secret is scheduled for deletion.',
    ].join('\n'),
  });
  return toTokenRepresentation(saved);
}
