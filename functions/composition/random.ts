import { randomBytes } from 'node:crypto';
import { base32 } from '../domain/naming';
import type { Random } from '../domain/ports';

export const cryptoRandom: Random = {
  id: () => base32(randomBytes(17)),
  secret: (bytes) => randomBytes(bytes).toString('base64url'),
};
