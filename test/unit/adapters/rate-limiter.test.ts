import { SharedRateLimiter } from '../../../functions/adapters/aws/rate-limiter';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

describe('SharedRateLimiter', () => {
  it('lets at most perSecond callers through per one-second window, across limiter instances', async () => {
    let now = 1_800_000_000_000;
    const grants: number[] = [];
    const sleep = async (ms: number) => {
      now += ms;
    };
    const make = () =>
      new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-a', { perSecond: 3, now: () => now, sleep });
    // Two "Lambdas" share the limit through the table.
    const limiters = [make(), make()];
    for (let i = 0; i < 10; i++) {
      await limiters[i % 2]!.acquire();
      grants.push(Math.floor(now / 1000));
    }
    const perWindow = new Map<number, number>();
    for (const second of grants) perWindow.set(second, (perWindow.get(second) ?? 0) + 1);
    expect(Math.max(...perWindow.values())).toBe(3);
    expect(perWindow.size).toBe(4);
  });

  it('gives up with a transient error after its longest wait', async () => {
    let now = 1_800_000_100_000;
    const limiter = new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-b', {
      perSecond: 1,
      maxWaitMs: 0,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    await limiter.acquire();
    await expect(limiter.acquire()).rejects.toMatchObject({ name: 'AtlassianTransientError' });
  });
});
