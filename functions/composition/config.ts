import * as z from '../domain/schema';

/** Reads the environment once at cold start; a missing or malformed variable fails fast, naming it. */
export function readConfig<T extends Record<string, z.ZodMiniType>>(shape: T, env: NodeJS.ProcessEnv = process.env) {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return result.data;
}

export const envVar = {
  name: z.string().check(z.minLength(1)),
  url: z.url(),
  arn: z.string().check(z.startsWith('arn:')),
  email: z.email(),
  /** Space-separated origins (`https://host[:port]`); empty is none. */
  origins: z
    .string()
    .check(
      z.regex(
        /^(https?:\/\/[^\s/]+( https?:\/\/[^\s/]+)*)?$/,
        'must be space-separated origins (scheme://host[:port])',
      ),
    ),
};
