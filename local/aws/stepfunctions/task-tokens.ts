/** Task tokens of `.waitForTaskToken` tasks. */
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_MAGIC = Buffer.from('TWtt', 'latin1');
const TOKEN_RANDOM_BYTES = 320;
const TOKEN_CHECKSUM_BYTES = 8;
const TOKEN_BYTES = TOKEN_MAGIC.length + TOKEN_RANDOM_BYTES + TOKEN_CHECKSUM_BYTES;

/** A fresh opaque task token: base64, about as long as AWS's, with a checksum that tells ours from garbage. */
export function makeTaskToken(): string {
  const body = Buffer.concat([TOKEN_MAGIC, randomBytes(TOKEN_RANDOM_BYTES)]);
  const checksum = createHash('sha256').update(body).digest().subarray(0, TOKEN_CHECKSUM_BYTES);
  return Buffer.concat([body, checksum]).toString('base64');
}

/** Whether `token` has the shape of a token this runtime issues (open, closed or from an earlier run). */
export function isWellFormedTaskToken(token: string): boolean {
  if (token.length > 2048 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return false;
  const bytes = Buffer.from(token, 'base64');
  if (bytes.length !== TOKEN_BYTES || !bytes.subarray(0, TOKEN_MAGIC.length).equals(TOKEN_MAGIC)) return false;
  const body = bytes.subarray(0, TOKEN_BYTES - TOKEN_CHECKSUM_BYTES);
  const checksum = createHash('sha256').update(body).digest().subarray(0, TOKEN_CHECKSUM_BYTES);
  return checksum.equals(bytes.subarray(TOKEN_BYTES - TOKEN_CHECKSUM_BYTES));
}
