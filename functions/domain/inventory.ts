/** Drift between what Token Warden recorded and what Atlassian lists. Pure. */
import type { TokenRecord } from './model';

export type DriftKind = 'UNKNOWN_TOKEN' | 'MISSING_TOKEN' | 'EXPIRY_MISMATCH' | 'REVOKED_BUT_LISTED' | 'ORPHANED_MINT';

export interface DriftFinding {
  kind: DriftKind;
  serviceAccount: string;
  atlassianTokenId?: string;
  label?: string;
  tokenId?: string;
  generation?: number;
  detail: string;
}

export interface ListedToken {
  id: string;
  label: string;
  createdAt?: string;
  expiry?: string;
}

const OUR_LABEL = /^token-warden:(tok_[a-z2-7]{26}):g(\d+)$/;
/** Expiries are compared to the day: Atlassian may round them. */
const EXPIRY_TOLERANCE_MS = 86_400_000;
/**
 * How long a mint under one of our labels may be listed before its generation is recorded: longer than a minting
 * step runs with all its retries. An unrecorded mint older than this, of a token not rotating to that generation, is
 * an orphan (a lost mint response whose rotation was stopped), not a mint in flight.
 */
export const MINT_IN_FLIGHT_MS = 15 * 60_000;

/** Whether a listed, unrecorded token under `record`'s label of `generation` may still be a mint in flight. */
function mintInFlight(record: TokenRecord, generation: number, token: ListedToken, now: Date): boolean {
  if (record.status !== 'ACTIVE' && record.status !== 'ROTATING') return false;
  if (record.rotation?.generation === generation) return true;
  const created = token.createdAt ? Date.parse(token.createdAt) : Number.NaN;
  return Number.isFinite(created) && now.getTime() - created < MINT_IN_FLIGHT_MS;
}

/** Compares one service account's listed tokens with the token records of that account. */
export function findDrift(
  serviceAccount: string,
  listed: ListedToken[],
  records: TokenRecord[],
  now: Date,
): DriftFinding[] {
  const findings: DriftFinding[] = [];
  const byAtlassianId = new Map<string, { record: TokenRecord; generation: TokenRecord['generations'][number] }>();
  const recordsById = new Map(records.map((r) => [r.tokenId, r]));
  for (const record of records) {
    for (const generation of record.generations) byAtlassianId.set(generation.atlassianTokenId, { record, generation });
  }
  const listedIds = new Set(listed.map((t) => t.id));

  for (const token of listed) {
    const known = byAtlassianId.get(token.id);
    if (!known) {
      const ours = OUR_LABEL.exec(token.label);
      const owner = ours ? recordsById.get(ours[1]!) : undefined;
      if (owner && ours) {
        // A mint in flight is not drift; an unrecorded mint of a token that is not minting it is an orphan.
        if (mintInFlight(owner, Number(ours[2]), token, now)) continue;
        findings.push({
          kind: 'ORPHANED_MINT',
          serviceAccount,
          atlassianTokenId: token.id,
          label: token.label,
          tokenId: owner.tokenId,
          generation: Number(ours[2]),
          detail: `minted under Token Warden's label but never recorded (token ${owner.status}): revoke it`,
        });
        continue;
      }
      findings.push({
        kind: 'UNKNOWN_TOKEN',
        serviceAccount,
        atlassianTokenId: token.id,
        label: token.label,
        detail: 'listed at Atlassian but not issued by Token Warden',
      });
      continue;
    }
    const { record, generation } = known;
    if (generation.revokedAt || record.status === 'REVOKED') {
      findings.push({
        kind: 'REVOKED_BUT_LISTED',
        serviceAccount,
        atlassianTokenId: token.id,
        label: token.label,
        tokenId: record.tokenId,
        generation: generation.generation,
        detail: `recorded as revoked at ${generation.revokedAt ?? record.revokedAt ?? 'unknown'} but still listed`,
      });
    } else if (
      token.expiry &&
      Math.abs(Date.parse(token.expiry) - Date.parse(generation.expiresAt)) > EXPIRY_TOLERANCE_MS
    ) {
      findings.push({
        kind: 'EXPIRY_MISMATCH',
        serviceAccount,
        atlassianTokenId: token.id,
        label: token.label,
        tokenId: record.tokenId,
        generation: generation.generation,
        detail: `Atlassian says ${token.expiry}, Token Warden recorded ${generation.expiresAt}`,
      });
    }
  }

  for (const record of records) {
    if (record.status !== 'ACTIVE' && record.status !== 'ROTATING') continue;
    for (const generation of record.generations) {
      if (generation.revokedAt || listedIds.has(generation.atlassianTokenId)) continue;
      findings.push({
        kind: 'MISSING_TOKEN',
        serviceAccount,
        atlassianTokenId: generation.atlassianTokenId,
        label: generation.label,
        tokenId: record.tokenId,
        generation: generation.generation,
        detail: 'recorded as live but not listed at Atlassian (revoked or deleted outside Token Warden?)',
      });
    }
  }
  return findings;
}
