import * as z from 'zod';

/** Reads the environment once at cold start; a missing or malformed variable fails fast, naming it. */
export function readConfig<T extends z.ZodRawShape>(shape: T, env: NodeJS.ProcessEnv = process.env) {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return result.data;
}

export const envVar = {
  name: z.string().min(1),
  url: z.url(),
  arn: z.string().startsWith('arn:'),
  email: z.email(),
};
