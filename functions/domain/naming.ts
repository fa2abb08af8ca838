import { createHash } from 'node:crypto';

/** `name` of a token request (product contract). */
export const TOKEN_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,64}$/;
/** Service-account alias: part of secret names, so only characters Jenkins accepts, and no dot. */
export const ALIAS_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lowercase base32 of `bytes`, `length` characters. */
export function base32(bytes: Uint8Array, length = 26): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** A stable 26-character id derived from its parts (used where a retry must find the same record). */
export function derivedId(...parts: string[]): string {
  return base32(createHash('sha256').update(parts.join('\n')).digest());
}

export const requestIdFrom = (core: string) => `req_${core}`;
/** The token id is derived from the request id: one request issues at most one token. */
export const tokenIdFor = (requestId: string) => `tok_${requestId.replace(/^req_/, '')}`;
export const requestIdForToken = (tokenId: string) => `req_${tokenId.replace(/^tok_/, '')}`;
export const secretNameFor = (alias: string, name: string) => `token-warden.${alias}.${name}`;
/** Atlassian label of one mint: unique and deterministic, so a lost response can be found again. */
export const mintLabel = (tokenId: string, generation: number) => `token-warden:${tokenId}:g${generation}`;
/** Every generation of a token is minted under a label with this prefix: revoke takes down every one of them. */
export const mintLabelPrefix = (tokenId: string) => `token-warden:${tokenId}:g`;
/**
 * Deterministic Secrets Manager `ClientRequestToken` (a UUID shape) for one generation's secret version. `round`
 * counts how often the generation was minted (or asked for) again after an attempt that was discarded: a version id
 * can never hold another value, so a new round stages under a new id. Round 1 keeps the original derivation.
 */
export function secretVersionId(tokenId: string, generation: number, round = 1): string {
  const seed = round === 1 ? `${tokenId}:g${generation}` : `${tokenId}:g${generation}:r${round}`;
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
export const approvalIdFor = (requestId: string, approverEmail: string) =>
  `apv_${derivedId('approval', requestId, approverEmail.toLowerCase())}`;
/** One admin's single-use upload link for one round of a manually issued generation. */
export const uploadIdFor = (tokenId: string, generation: number, round: number, adminEmail: string) =>
  `upl_${derivedId('upload', tokenId, `g${generation}`, `r${round}`, adminEmail.toLowerCase())}`;
export const issuanceExecutionName = (requestId: string) => requestId;
export const rotationExecutionName = (tokenId: string, generation: number, attempt: number) =>
  `${tokenId}-g${generation}-a${attempt}`;
/**
 * The rotation workflow's run that retires the generations before `generation` after its grace period, for a
 * rotation Secrets Manager ran (its `finishSecret` step starts it).
 */
export const retireExecutionName = (tokenId: string, generation: number) => `${tokenId}-g${generation}-retire`;
/** One run of the revocation workflow per revoke call that left work (`round` counts the token's revoke calls). */
export const revocationExecutionName = (tokenId: string, round: number) => `${tokenId}-revoke-${round}`;

/** The tag every token secret carries, naming the token it holds (set when issuance creates the secret). */
export const TOKEN_ID_TAG = 'token-warden:token-id';
