import { generation, tokenId } from '../../../functions/domain/ids';
import * as z from '../../../functions/domain/schema';
import { taskHandler } from '../../../functions/edge/task';
import { AtlassianTransientError } from '../../../functions/use-cases/port-errors';
import { lambdaContext } from '../../support/events';

const TOKEN = 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'tok_bbbbbbbbbbbbbbbbbbbbbbbbbb';
const input = z.object({ tokenId, generation });

let lines: Record<string, unknown>[];
let spies: jest.SpyInstance[];

/** Log lines go to stdout, error lines to stderr: both are collected, in order. */
beforeEach(() => {
  lines = [];
  const collect = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  };
  spies = [process.stdout, process.stderr].map((stream) => jest.spyOn(stream, 'write').mockImplementation(collect));
});

afterEach(() => {
  for (const spy of spies) spy.mockRestore();
});

describe('taskHandler', () => {
  it('hands the parsed input to the step and labels its log lines with the ids', async () => {
    // Prepare
    const { logger } = await import('../../../functions/edge/logger');
    const handler = taskHandler(input, async (parsed) => {
      logger.info('working');
      return { seen: parsed.generation };
    });

    // Act
    const out = await handler({ tokenId: TOKEN, generation: 2 }, lambdaContext);

    // Assess
    expect(out).toEqual({ seen: 2 });
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'working', correlation_id: TOKEN, tokenId: TOKEN, generation: 2 }),
    );
    expect(lines.find((l) => l.message === 'working')?.function_name).toBe('test');
  });

  it('clears the keys of one invocation before the next', async () => {
    // Prepare
    const { logger } = await import('../../../functions/edge/logger');
    const seen: unknown[] = [];
    const handler = taskHandler(input, async () => logger.info('working'));
    const scheduled = taskHandler(async () => logger.info('scheduled'));

    // Act
    await handler({ tokenId: OTHER, generation: 1 }, lambdaContext);
    await scheduled({}, lambdaContext);
    seen.push(...lines.filter((l) => l.message === 'scheduled'));

    // Assess
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toHaveProperty('tokenId');
    expect(seen[0]).not.toHaveProperty('correlation_id');
  });

  it('logs a failed step by error name and message and rethrows the same error', async () => {
    // Prepare
    const error = new AtlassianTransientError('POST /users/{accountId}/manage/api-tokens answered 503');
    const handler = taskHandler(input, async () => {
      throw error;
    });

    // Act
    const thrown = await handler({ tokenId: TOKEN, generation: 1 }, lambdaContext).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBe(error);
    const failed = lines.filter((l) => l.message === 'step failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: 'ERROR',
      correlation_id: TOKEN,
      errorName: 'AtlassianTransientError',
      errorMessage: error.message,
    });
    expect(JSON.stringify(failed[0])).not.toContain('stack');
  });

  it('refuses an input its schema does not accept as a TaskInputError', async () => {
    // Prepare
    const step = jest.fn();
    const handler = taskHandler(input, step);

    // Act
    const thrown = await handler({ tokenId: 'tok_NOT', generation: 0 }, lambdaContext).catch((e: unknown) => e);

    // Assess
    expect(thrown).toMatchObject({ name: 'TaskInputError', message: 'invalid task input: tokenId, generation' });
    expect(step).not.toHaveBeenCalled();
    expect(lines).toContainEqual(expect.objectContaining({ message: 'step failed', errorName: 'TaskInputError' }));
  });
});
