import { forbidden, validationError } from '../domain/errors';
import { REQUEST_ID, TOKEN_ID } from '../domain/ids';
import type { Caller } from '../domain/model';
import { requestIdForToken } from '../domain/naming';
import type { AuditTrail } from './ports';

const PERSONAL_TOKEN_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const EXCEPTION_ID = /^exc_[a-z2-7]{26}$/;

/**
 * `GET /audit?requestId=&tokenId=` (admins): the records of one request/token, oldest first; or those of one
 * member's personal token (`?atlassianTokenId=`) or one access exception (`?exceptionId=`).
 */
export async function readAudit(
  audit: AuditTrail,
  caller: Caller,
  query: { requestId?: string; tokenId?: string; atlassianTokenId?: string; exceptionId?: string },
) {
  if (!caller.isAdmin) throw forbidden('only admins can read the audit trail');
  const { requestId, tokenId, atlassianTokenId, exceptionId } = query;
  const others = [requestId, tokenId].some((v) => v !== undefined);
  if (atlassianTokenId !== undefined) {
    if (others || exceptionId !== undefined) throw validationError('atlassianTokenId', 'give atlassianTokenId alone');
    if (!PERSONAL_TOKEN_ID.test(atlassianTokenId)) {
      throw validationError('atlassianTokenId', 'atlassianTokenId is not valid');
    }
    return { items: await audit.list(`personal-token:${atlassianTokenId}`) };
  }
  if (exceptionId !== undefined) {
    if (others) throw validationError('exceptionId', 'give exceptionId alone');
    if (!EXCEPTION_ID.test(exceptionId)) throw validationError('exceptionId', 'exceptionId is not valid');
    return { items: await audit.list(exceptionId) };
  }
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
