import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { type AwsEdge, createAwsEdge } from '../../local/aws/edge';
import { createScheduler, type FiredTarget, type SchedulerService } from '../../local/aws/scheduler';
import { SimulatedClock } from '../../local/clock';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:Rotation';
const ROLE = 'arn:aws:iam::000000000000:role/scheduler';

/** `at(...)` for an instant, in UTC wall time (seconds dropped, as schedules are to the second). */
function atExpression(ms: number): string {
  return `at(${new Date(ms).toISOString().slice(0, 19)})`;
}

function schedule(name: string, expression: string, extra: Partial<CreateScheduleCommandInput> = {}) {
  return new CreateScheduleCommand({
    Name: name,
    ScheduleExpression: expression,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: STATE_MACHINE, RoleArn: ROLE, Input: JSON.stringify({ tokenId: name }) },
    ...extra,
  });
}

describe('local EventBridge Scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-scheduler-'));
  const fired: (FiredTarget & { clockAtFire: number })[] = [];
  const errors: unknown[] = [];
  let clock: SimulatedClock;
  let scheduler: SchedulerService;
  let edge: AwsEdge;
  let client: SchedulerClient;
  let failNext = false;

  async function boot(file: string | undefined): Promise<void> {
    scheduler = createScheduler({
      clock,
      ...(file ? { file } : {}),
      fireTarget: async (target) => {
        fired.push({ ...target, clockAtFire: clock.nowMs() });
        if (failNext) {
          failNext = false;
          throw new Error('state machine unavailable');
        }
      },
      onError: (error) => errors.push(error),
    });
    edge = createAwsEdge({ services: [scheduler] });
    const server = await edge.listen(0);
    client = new SchedulerClient({
      endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    scheduler.start();
  }

  async function shutdown(): Promise<void> {
    scheduler.close();
    await edge.close();
  }

  beforeEach(async () => {
    fired.length = 0;
    errors.length = 0;
    clock = new SimulatedClock();
    await boot(undefined);
  });

  afterEach(async () => {
    await shutdown();
    clock.stop();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fires a one-time schedule exactly when the clock passes it, not before', async () => {
    const due = Math.floor((clock.nowMs() + 2 * DAY) / 1000) * 1000;
    await client.send(schedule('rotate-t1', atExpression(due)));

    await clock.advance(DAY);
    expect(fired).toEqual([]);

    const result = await clock.advance(DAY);

    expect(result.settled).toBe(true);
    expect(fired).toEqual([
      {
        arn: STATE_MACHINE,
        roleArn: ROLE,
        input: '{"tokenId":"rotate-t1"}',
        scheduleName: 'rotate-t1',
        groupName: 'default',
        scheduleArn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/rotate-t1',
        scheduledTime: new Date(due),
        clockAtFire: due,
      },
    ]);
    await clock.advance(10 * DAY);
    expect(fired).toHaveLength(1);
  });

  it('keeps a fired schedule with ActionAfterCompletion NONE and deletes one with DELETE', async () => {
    const due = clock.nowMs() + HOUR;
    await client.send(schedule('keep', atExpression(due)));
    await client.send(schedule('drop', atExpression(due), { ActionAfterCompletion: 'DELETE' }));

    await clock.advance(2 * HOUR);

    expect(fired.map((f) => f.scheduleName).sort()).toEqual(['drop', 'keep']);
    await expect(client.send(new GetScheduleCommand({ Name: 'keep' }))).resolves.toMatchObject({
      Name: 'keep',
      ActionAfterCompletion: 'NONE',
      State: 'ENABLED',
    });
    await expect(client.send(new GetScheduleCommand({ Name: 'drop' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Schedule drop does not exist.',
    });
  });

  it('reads a schedule back as it was created', async () => {
    await client.send(
      schedule('read-me', 'at(2031-05-06T07:08:09)', {
        ScheduleExpressionTimezone: 'Europe/Paris',
        Description: 'rotation of t1',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
        ActionAfterCompletion: 'DELETE',
      }),
    );

    const got = await client.send(new GetScheduleCommand({ Name: 'read-me', GroupName: 'default' }));

    expect(got).toMatchObject({
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/read-me',
      Name: 'read-me',
      GroupName: 'default',
      ScheduleExpression: 'at(2031-05-06T07:08:09)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      Description: 'rotation of t1',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Target: { Arn: STATE_MACHINE, RoleArn: ROLE, Input: '{"tokenId":"read-me"}' },
      ActionAfterCompletion: 'DELETE',
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    // 07:08:09 in Paris (UTC+2 in May) is 05:08:09 UTC.
    expect(scheduler.list()).toEqual([
      expect.objectContaining({ name: 'read-me', nextFireAt: '2031-05-06T05:08:09.000Z' }),
    ]);
  });

  it('answers ConflictException, ResourceNotFoundException and ValidationException as AWS does', async () => {
    await client.send(schedule('dup', 'at(2031-01-01T00:00:00)'));

    await expect(client.send(schedule('dup', 'at(2031-01-01T00:00:00)'))).rejects.toMatchObject({
      name: 'ConflictException',
      message: 'Schedule dup already exists.',
      $metadata: expect.objectContaining({ httpStatusCode: 409 }),
    });
    await expect(client.send(new GetScheduleCommand({ Name: 'ghost' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: expect.objectContaining({ httpStatusCode: 404 }),
    });
    await expect(client.send(new DeleteScheduleCommand({ Name: 'ghost' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      client.send(
        new UpdateScheduleCommand({
          Name: 'ghost',
          ScheduleExpression: 'rate(1 day)',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: STATE_MACHINE, RoleArn: ROLE },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(client.send(schedule('in-group', 'rate(1 day)', { GroupName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Schedule group nope does not exist.',
    });
  });

  it.each([
    ['a malformed at()', 'at(2031-13-01T00:00:00)', 'Invalid Schedule Expression'],
    ['a rate with a bad unit', 'rate(5 weeks)', 'minute(s), hour(s) or day(s)'],
    ['a five-field cron', 'cron(0 9 * * ?)', 'six fields'],
    ['cron with both day fields set', 'cron(0 9 * * MON *)', 'exactly one of day-of-month and day-of-week'],
    ['the L cron feature', 'cron(0 9 L * ? *)', 'not supported by the local Scheduler'],
    ['the # cron feature', 'cron(0 9 ? * 2#1 *)', 'not supported by the local Scheduler'],
    ['an out-of-range cron hour', 'cron(0 24 * * ? *)', "'24' is not between 0 and 23"],
  ])('rejects %s with ValidationException', async (_, expression, message) => {
    await expect(client.send(schedule('bad', expression))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining(message),
      $metadata: expect.objectContaining({ httpStatusCode: 400 }),
    });
  });

  it('rejects an invalid name, time zone and flexible window with ValidationException', async () => {
    await expect(client.send(schedule('no spaces', 'rate(1 day)'))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      client.send(schedule('tz', 'rate(1 day)', { ScheduleExpressionTimezone: 'Mars/Olympus' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Mars/Olympus') });
    await expect(
      client.send(schedule('window', 'rate(1 day)', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('MaximumWindowInMinutes'),
    });
  });

  it('fires a rate schedule at creation and then every period, in order', async () => {
    await client.send(schedule('sweep', 'rate(1 hour)'));
    const created = (await client.send(new GetScheduleCommand({ Name: 'sweep' }))).CreationDate?.getTime() ?? 0;

    await clock.advance(3 * HOUR + 1000);

    expect(fired.map((f) => f.scheduledTime.getTime() - created)).toEqual([0, HOUR, 2 * HOUR, 3 * HOUR]);
    // The first occurrence is due at once, so wall-clock time may fire it a few milliseconds late; the rest
    // fire with the clock set to their due time.
    expect(fired.map((f) => f.clockAtFire - created)).toEqual([expect.any(Number), HOUR, 2 * HOUR, 3 * HOUR]);
    expect(fired[0]?.clockAtFire).toBeLessThan(created + 1000);
  });

  it('arms a cron schedule at its next occurrence in the schedule’s time zone', async () => {
    await client.send(schedule('daily', 'cron(30 9 * * ? *)', { ScheduleExpressionTimezone: 'America/New_York' }));

    const next = new Date(scheduler.list()[0]?.nextFireAt ?? 0);
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'America/New_York',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next);

    expect(local).toBe('09:30');
    expect(next.getTime()).toBeGreaterThan(clock.nowMs());
    expect(next.getTime()).toBeLessThanOrEqual(clock.nowMs() + DAY);
    await clock.advance(DAY);
    expect(fired.map((f) => f.scheduledTime)).toEqual([next]);
  });

  it('computes weekday cron occurrences', async () => {
    await client.send(schedule('weekly', 'cron(0 12 ? * MON-FRI/2 *)'));

    await clock.advance(8 * DAY);

    const days = fired.map((f) => f.scheduledTime.getUTCDay());
    expect(new Set(days)).toEqual(new Set([1, 3, 5]));
    expect(fired.every((f) => f.scheduledTime.getUTCHours() === 12 && f.scheduledTime.getUTCMinutes() === 0)).toBe(
      true,
    );
  });

  it('does not fire a DISABLED schedule, and re-arms on UpdateSchedule', async () => {
    const due = clock.nowMs() + HOUR;
    await client.send(schedule('paused', atExpression(due), { State: 'DISABLED' }));
    await clock.advance(2 * HOUR);
    expect(fired).toEqual([]);

    const later = clock.nowMs() + HOUR;
    await client.send(
      new UpdateScheduleCommand({
        Name: 'paused',
        ScheduleExpression: atExpression(later),
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: STATE_MACHINE, RoleArn: ROLE },
        State: 'ENABLED',
      }),
    );
    await clock.advance(2 * HOUR);

    expect(fired.map((f) => f.scheduledTime.getTime())).toEqual([Math.floor(later / 1000) * 1000]);
    expect(fired[0]?.input).toBeUndefined();
  });

  it('fills Scheduler context attributes into the input of a universal target', async () => {
    const due = Math.floor((clock.nowMs() + HOUR) / 1000) * 1000;
    await client.send(
      schedule('universal', atExpression(due), {
        Target: {
          Arn: 'arn:aws:scheduler:::aws-sdk:sfn:startExecution',
          RoleArn: ROLE,
          Input:
            '{"StateMachineArn":"x","Name":"r-<aws.scheduler.scheduled-time>","Arn":"<aws.scheduler.schedule-arn>"}',
        },
      }),
    );

    await clock.advance(2 * HOUR);

    expect(JSON.parse(fired[0]?.input ?? '{}')).toEqual({
      StateMachineArn: 'x',
      Name: `r-${new Date(due).toISOString().slice(0, 19)}Z`,
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/universal',
    });
  });

  it('reports a failing target and keeps going', async () => {
    failNext = true;
    await client.send(schedule('flaky', atExpression(clock.nowMs() + HOUR)));

    const result = await clock.advance(2 * HOUR);

    expect(result.settled).toBe(true);
    expect(errors).toEqual([expect.objectContaining({ message: 'state machine unavailable' })]);
  });

  it('lists schedules by group and prefix, with paging', async () => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'rotations' }));
    for (const name of ['r-a', 'r-b', 'r-c']) {
      await client.send(schedule(name, 'at(2031-01-01T00:00:00)', { GroupName: 'rotations' }));
    }
    await client.send(schedule('r-default', 'at(2031-01-01T00:00:00)'));

    const first = await client.send(new ListSchedulesCommand({ GroupName: 'rotations', MaxResults: 2 }));
    const second = await client.send(
      new ListSchedulesCommand({ GroupName: 'rotations', MaxResults: 2, NextToken: first.NextToken }),
    );
    const prefixed = await client.send(new ListSchedulesCommand({ NamePrefix: 'r-d' }));

    expect(first.Schedules?.map((s) => s.Name)).toEqual(['r-a', 'r-b']);
    expect(second.Schedules?.map((s) => s.Name)).toEqual(['r-c']);
    expect(second.NextToken).toBeUndefined();
    expect(prefixed.Schedules).toEqual([
      expect.objectContaining({
        Name: 'r-default',
        GroupName: 'default',
        State: 'ENABLED',
        Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/r-default',
        Target: { Arn: STATE_MACHINE },
      }),
    ]);

    await client.send(new DeleteScheduleGroupCommand({ Name: 'rotations' }));
    const after = await client.send(new ListSchedulesCommand({}));
    expect(after.Schedules?.map((s) => s.Name)).toEqual(['r-default']);
  });

  describe('persistence', () => {
    it('re-arms stored schedules on start-up and fires what fell due while down exactly once', async () => {
      const file = join(dir, 'schedules.json');
      await shutdown();
      await boot(file);
      const missed = Math.floor((clock.nowMs() + HOUR) / 1000) * 1000;
      const future = Math.floor((clock.nowMs() + 5 * HOUR) / 1000) * 1000;
      await client.send(schedule('missed', atExpression(missed)));
      await client.send(schedule('future', atExpression(future)));

      // The runtime is down while simulated time passes the first schedule.
      await shutdown();
      await clock.advance(2 * HOUR);
      expect(fired).toEqual([]);

      await boot(file);
      await clock.advance(1);
      expect(fired.map((f) => [f.scheduleName, f.scheduledTime.getTime()])).toEqual([['missed', missed]]);

      // Restarting again neither fires the missed schedule a second time nor loses the future one.
      await shutdown();
      await boot(file);
      await clock.advance(4 * HOUR);
      expect(fired.map((f) => [f.scheduleName, f.scheduledTime.getTime()])).toEqual([
        ['missed', missed],
        ['future', future],
      ]);
    });

    it('collapses recurring occurrences missed while down into one firing', async () => {
      const file = join(dir, 'recurring.json');
      await shutdown();
      await boot(file);
      await client.send(schedule('sweep', 'rate(1 hour)'));
      await clock.advance(1);
      expect(fired).toHaveLength(1);

      await shutdown();
      await clock.advance(5 * HOUR + 1000);
      await boot(file);
      await clock.advance(1);

      expect(fired).toHaveLength(2);
      expect(scheduler.list()[0]?.nextFireAt).toBeDefined();
      expect(Date.parse(scheduler.list()[0]?.nextFireAt ?? '')).toBeGreaterThan(clock.nowMs());
    });
  });
});
