/** Leased delivery markers against the DynamoDB emulator: a delivery that died mid-way is taken over, not skipped. */
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';

let dynamo: LocalDynamo;
let store: RecordStore;
const T0 = new Date('2026-12-03T10:00:00Z');
const secondsLater = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

beforeAll(async () => {
  dynamo = await startDynamo();
  store = createRecordStore(dynamo.doc, dynamo.tableName);
});
afterAll(async () => {
  await dynamo.close();
});

describe('Adapter: deliveryLeases', () => {
  it('leases once, holds the lease against a second attempt, and hands it over once it ran out unconfirmed', async () => {
    // Act
    const first = await store.leaseDelivery('NOTE#lease-1', T0, 120);
    const second = await store.leaseDelivery('NOTE#lease-1', secondsLater(60), 120);
    const takeover = await store.leaseDelivery('NOTE#lease-1', secondsLater(121), 120);
    const whileTakenOver = await store.leaseDelivery('NOTE#lease-1', secondsLater(150), 120);

    // Assess
    expect([first, second, takeover, whileTakenOver]).toEqual(['claimed', 'in-flight', 'claimed', 'in-flight']);
  });

  it('never leases a confirmed delivery again, however late', async () => {
    // Prepare
    expect(await store.leaseDelivery('NOTE#lease-2', T0, 120)).toBe('claimed');

    // Act
    await store.confirmDelivery('NOTE#lease-2');

    // Assess
    expect(await store.leaseDelivery('NOTE#lease-2', secondsLater(60), 120)).toBe('done');
    expect(await store.leaseDelivery('NOTE#lease-2', secondsLater(86_400), 120)).toBe('done');
  });

  it('leases a released delivery afresh', async () => {
    // Prepare
    expect(await store.leaseDelivery('NOTE#lease-3', T0, 120)).toBe('claimed');
    await store.releaseNotification('NOTE#lease-3');

    // Act / Assess
    expect(await store.leaseDelivery('NOTE#lease-3', secondsLater(1), 120)).toBe('claimed');
  });
});
