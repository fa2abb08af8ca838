import type * as z from '../domain/schema';

/** The workflow handed a task an input it cannot act on. Not retried. */
export class TaskInputError extends Error {
  override readonly name = 'TaskInputError';
}

export function parseTaskInput<T extends z.ZodMiniType>(schema: T, event: unknown): z.output<T> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const fields = result.error.issues.map((i) => i.path.join('.') || '(input)').join(', ');
    throw new TaskInputError(`invalid task input: ${fields}`);
  }
  return result.data;
}
