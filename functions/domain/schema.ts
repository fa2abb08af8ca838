/**
 * zod for code that runs in the Lambda functions: the tree-shakable `zod/mini` build (a bundle carries only the
 * validators it uses) with zod's English messages. `zod/mini` loads no locale by itself, so without this every
 * message would read "Invalid input"; with it, messages are word for word those of the classic API. Import zod
 * from here, never from `zod/mini` directly, so the locale is always configured first.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
