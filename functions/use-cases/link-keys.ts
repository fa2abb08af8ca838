/**
 * The link-signing key at the use cases' call sites: sign and seal with the current key; verify and unseal with the
 * current or the previous one, reading the keys again once when the cached ones open nothing, since a rotation may
 * have made the current key after they were cached (another container signed with it).
 */
import {
  type LinkCheck,
  type LinkKeys,
  readSignInStateWithAny,
  unsealTaskTokenWithAny,
  verifyApprovalLinkWithAny,
  verifyUploadLinkWithAny,
} from '../domain/links';
import type { LinkKeyring } from './ports';

/** The key that signs links and seals task tokens now. */
export async function signingKey(keyring: LinkKeyring): Promise<Buffer> {
  return (await keyring()).current;
}

/** `open` with the cached keys; when it finds nothing, once more with keys read again. */
async function withRefresh<T>(keyring: LinkKeyring, open: (keys: LinkKeys) => T | undefined): Promise<T | undefined> {
  return open(await keyring()) ?? open(await keyring({ refresh: true }));
}

const valid = (check: LinkCheck) => (check.valid ? check : undefined);
const INVALID: LinkCheck = { valid: false };

/** Checks an approval link's `sig` against the current and the previous key. */
export async function verifyApprovalLinkWith(
  keyring: LinkKeyring,
  approvalId: string,
  approver: string,
  sig: string,
): Promise<LinkCheck> {
  const check = await withRefresh(keyring, (keys) => valid(verifyApprovalLinkWithAny(keys, approvalId, approver, sig)));
  return check ?? INVALID;
}

/** Checks an upload link's `sig` against the current and the previous key. */
export async function verifyUploadLinkWith(
  keyring: LinkKeyring,
  uploadId: string,
  admin: string,
  sig: string,
): Promise<LinkCheck> {
  const check = await withRefresh(keyring, (keys) => valid(verifyUploadLinkWithAny(keys, uploadId, admin, sig)));
  return check ?? INVALID;
}

/** A task token sealed with the current or the previous key; throws when neither opens it. */
export async function unsealTaskTokenWith(keyring: LinkKeyring, sealed: string, context: string): Promise<string> {
  const taskToken = await withRefresh(keyring, (keys) => unsealTaskTokenWithAny(keys, sealed, context));
  if (taskToken === undefined) {
    throw new Error(`the task token sealed for ${context} opens with neither the current nor the previous link key`);
  }
  return taskToken;
}

/** A sign-in `state` made with the current or the previous key, and that key; undefined when neither made it. */
export function readSignInStateWith(keyring: LinkKeyring, state: string) {
  return withRefresh(keyring, (keys) => readSignInStateWithAny(keys, state));
}
