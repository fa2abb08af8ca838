import { forbidden, validationError } from '../domain/errors';
import { REQUEST_ID, TOKEN_ID } from '../domain/ids';
import type { Caller } from '../domain/model';
import { requestIdForToken } from '../domain/naming';
import type { AuditTrail } from './ports';

/** `GET /audit?requestId=&tokenId=` (admins): the records of one request/token, oldest first. */
export async function readAudit(audit: AuditTrail, caller: Caller, query: { requestId?: string; tokenId?: string }) {
  if (!caller.isAdmin) throw forbidden('only admins can read the audit trail');
  const { requestId, tokenId } = query;
  if (requestId === undefined && tokenId === undefined) throw validationError('requestId', 'give requestId or tokenId');
  if (requestId !== undefined && !REQUEST_ID.test(requestId))
    throw validationError('requestId', 'requestId is not valid');
  if (tokenId !== undefined && !TOKEN_ID.test(tokenId)) throw validationError('tokenId', 'tokenId is not valid');
  const fromToken = tokenId === undefined ? undefined : requestIdForToken(tokenId);
  if (requestId !== undefined && fromToken !== undefined && requestId !== fromToken) {
    throw validationError('tokenId', 'tokenId does not belong to requestId');
  }
  const items = await audit.list((requestId ?? fromToken) as string);
  return { items };
}
