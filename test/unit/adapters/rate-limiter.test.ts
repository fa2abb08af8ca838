import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SharedRateLimiter } from '../../../functions/adapters/aws/rate-limiter';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

/** The most slot starts found in any half-open span [t, t + spanMs), sliding over every start (in whole microseconds). */
function mostInAnySpan(startsMs: number[], spanMs: number): number {
  const sorted = startsMs.map((ms) => Math.round(ms * 1000)).sort((a, b) => a - b);
  const spanUs = spanMs * 1000;
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    // Starts in (sorted[i] - span, sorted[i]]: the span that ends just after sorted[i].
    while ((sorted[j] as number) <= (sorted[i] as number) - spanUs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** A simulated clock shared by every "Lambda" of a test: sleeping moves it forward. */
function simulatedClock(startMs: number) {
  let now = startMs;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('SharedRateLimiter', () => {
  it('spaces slots 1/perSecond apart across limiter instances, never more than perSecond in any one-second span', async () => {
    const clock = simulatedClock(1_800_000_000_000);
    const make = () =>
      new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-a', {
        perSecond: 3,
        now: clock.now,
        sleep: clock.sleep,
      });
    // Two "Lambdas" share the limit through the table.
    const limiters = [make(), make()];
    const slots: number[] = [];
    for (let i = 0; i < 10; i++) {
      const slot = await limiters[i % 2]!.acquireSlot();
      // Resolves at the slot's start, never before it.
      expect(clock.now()).toBeGreaterThanOrEqual(slot);
      slots.push(slot);
    }
    expect(mostInAnySpan(slots, 1000)).toBe(3);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1000 / 3);
    // No capacity is wasted under a backlog: 10 slots take 9 intervals, not 4 one-second windows.
    expect(slots.at(-1)! - slots[0]!).toBeLessThanOrEqual(9 * (1000 / 3) + 1);
  });

  it('serves every concurrent caller, across instances, without two callers sharing a slot or the rate being exceeded', async () => {
    const perSecond = 50;
    const limiters = Array.from(
      { length: 4 },
      () => new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-c', { perSecond, maxWaitMs: 10_000 }),
    );
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const slot = await limiters[i % limiters.length]!.acquireSlot();
        return { slot, resolvedAt: Date.now() };
      }),
    );
    const slots = results.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    expect(mostInAnySpan(slots, 1000)).toBeLessThanOrEqual(perSecond);
    // Also over shorter spans: the calls are spread evenly, not bunched at the start of each second.
    expect(mostInAnySpan(slots, 100)).toBeLessThanOrEqual(perSecond / 10);
    for (const r of results) expect(r.resolvedAt).toBeGreaterThanOrEqual(Math.floor(r.slot));
    // 120 calls at 50/s: the last slot starts about 2.4 s in (the queue is kept full, nothing is lost to windows).
    expect(Math.max(...slots) - started).toBeLessThan(2_400 + 1_500);
  }, 20_000);

  it('lets a caller through at once when the queue is empty, and does not bank unused capacity', async () => {
    const clock = simulatedClock(1_800_000_200_000);
    const limiter = new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-d', {
      perSecond: 10,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(await limiter.acquireSlot()).toBe(clock.now());
    clock.advance(60_000);
    // After a quiet minute the next caller goes at once; the one after it still waits one interval.
    const first = await limiter.acquireSlot();
    expect(first).toBe(clock.now());
    const second = await limiter.acquireSlot();
    expect(second - first).toBe(100);
  });

  it('gives up with a transient error, without taking a slot, when its slot would come after its longest wait', async () => {
    // Time stands still until the test moves it: every caller asks at the same instant.
    let now = 1_800_000_100_000;
    const sleeping: { until: number; wake: () => void }[] = [];
    const limiter = new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-b', {
      perSecond: 1,
      maxWaitMs: 2_500,
      now: () => now,
      sleep: (ms) => new Promise<void>((wake) => sleeping.push({ until: now + ms, wake })),
    });
    const asked = now;
    const granted = [limiter.acquireSlot(), limiter.acquireSlot(), limiter.acquireSlot()];
    while (sleeping.length < 2) await new Promise((r) => setImmediate(r));
    await expect(limiter.acquire()).rejects.toMatchObject({
      name: 'AtlassianTransientError',
      message: expect.stringContaining('no free slot within 2500 ms'),
    });
    const item = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tableName, Key: { pk: 'RATE#test-b', sk: 'slots' } }),
    );
    // The refused caller reserved nothing: the next free slot is still the fourth.
    expect(item.Item?.nextUs).toBe((asked + 3000) * 1000);
    // The waiting callers are served at their slots.
    now += 2_000;
    for (const s of sleeping.splice(0)) if (s.until <= now) s.wake();
    const slots = await Promise.all(granted);
    expect(slots.map((s) => s - asked).sort((a, b) => a - b)).toEqual([0, 1000, 2000]);
  });

  it('takes the slot at once when the stored queue ended in the past', async () => {
    const clock = simulatedClock(1_800_000_300_000);
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: { pk: 'RATE#test-e', sk: 'slots', nextUs: (clock.now() - 5_000) * 1000 },
      }),
    );
    const limiter = new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-e', {
      perSecond: 4,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(await limiter.acquireSlot()).toBe(clock.now());
  });

  it('takes one conditional write per caller when callers are sparse and when they queue', async () => {
    const clock = simulatedClock(1_800_000_400_000);
    let writes = 0;
    const counting = {
      send: (command: Parameters<typeof dynamo.doc.send>[0]) => {
        if (command.constructor.name === 'UpdateCommand') writes++;
        return dynamo.doc.send(command);
      },
    } as unknown as typeof dynamo.doc;
    const limiter = new SharedRateLimiter(counting, dynamo.tableName, 'test-g', {
      perSecond: 10,
      now: clock.now,
      sleep: clock.sleep,
    });
    for (let i = 0; i < 3; i++) {
      await limiter.acquire();
      clock.advance(3_600_000);
    }
    expect(writes).toBe(3);
    for (let i = 0; i < 5; i++) await limiter.acquire();
    expect(writes).toBe(8);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'test-f', { perSecond: 0 })).toThrow(
      /perSecond must be positive/,
    );
  });
});
