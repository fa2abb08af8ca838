/** Drift between what Token Warden recorded and what Atlassian lists. Pure. */
import type { TokenRecord } from './model';

export type DriftKind = 'UNKNOWN_TOKEN' | 'MISSING_TOKEN' | 'EXPIRY_MISMATCH' | 'REVOKED_BUT_LISTED';

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

/** Compares one service account's listed tokens with the token records of that account. */
export function findDrift(serviceAccount: string, listed: ListedToken[], records: TokenRecord[]): DriftFinding[] {
  const findings: DriftFinding[] = [];
  const byAtlassianId = new Map<string, { record: TokenRecord; generation: TokenRecord['generations'][number] }>();
  const knownTokenIds = new Set(records.map((r) => r.tokenId));
  for (const record of records) {
    for (const generation of record.generations) byAtlassianId.set(generation.atlassianTokenId, { record, generation });
  }
  const listedIds = new Set(listed.map((t) => t.id));

  for (const token of listed) {
    const known = byAtlassianId.get(token.id);
    if (!known) {
      const ours = OUR_LABEL.exec(token.label);
      // A mint in flight (its label names a token we track) is not drift; anything else was not issued by us.
      if (ours && knownTokenIds.has(ours[1]!)) continue;
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
