import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { validationError } from '../../../domain/errors';
import type { Page } from '../../../domain/records';
import { aws } from '../errors';

/** A table key. */
export interface Key {
  pk: string;
  sk: string;
}

type Item = Record<string, unknown>;

/**
 * A conditional state change of one item: `field` must hold `from` (and each `where` attribute its value); then
 * `field` becomes `to`, `set` attributes are written, `setIfAbsent` ones only where missing, `remove` ones dropped.
 */
export interface Transition {
  field: string;
  from: string;
  to?: string;
  set?: Item;
  setIfAbsent?: Item;
  remove?: readonly string[];
  where?: Item;
  /** What to answer with: the item after or before the change. @default nothing (an empty object) */
  returnValues?: 'ALL_NEW' | 'ALL_OLD';
}

/** The key attributes of each index's items: a pagination token holds exactly these. */
const INDEX_KEYS = {
  byOwner: ['gsi1pk', 'gsi1sk'],
  byKind: ['kind', 'kindSk'],
  byDue: ['duePk', 'dueSk'],
} as const;

export type IndexName = keyof typeof INDEX_KEYS;

const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'kind', 'kindSk', 'duePk', 'dueSk'] as const;

/** The record of an item: the item without its table and index keys. */
export function strip<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const out = { ...item };
  for (const key of KEY_ATTRIBUTES) delete out[key];
  return out as T;
}

export const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Runs a conditional write: its answer, or undefined when the condition failed. */
async function conditional<T>(operation: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await aws(operation, call);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** The UpdateItem input of a transition. */
function transitionInput(tableName: string, key: Key, t: Transition): UpdateCommandInput {
  const names: Record<string, string> = { '#f': t.field };
  const values: Item = { ':from': t.from };
  const sets: string[] = [];
  let n = 0;
  const attr = (name: string) => {
    const ref = `#a${n++}`;
    names[ref] = name;
    return ref;
  };
  if (t.to !== undefined) {
    sets.push('#f = :to');
    values[':to'] = t.to;
  }
  for (const [name, value] of Object.entries(t.set ?? {})) {
    const ref = attr(name);
    values[`:${ref.slice(1)}`] = value;
    sets.push(`${ref} = :${ref.slice(1)}`);
  }
  for (const [name, value] of Object.entries(t.setIfAbsent ?? {})) {
    const ref = attr(name);
    values[`:${ref.slice(1)}`] = value;
    sets.push(`${ref} = if_not_exists(${ref}, :${ref.slice(1)})`);
  }
  const conditions = ['#f = :from'];
  for (const [name, value] of Object.entries(t.where ?? {})) {
    const ref = attr(name);
    values[`:${ref.slice(1)}`] = value;
    conditions.push(`${ref} = :${ref.slice(1)}`);
  }
  const removes = (t.remove ?? []).map(attr);
  const update = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
    .filter(Boolean)
    .join(' ');
  return {
    TableName: tableName,
    Key: key,
    UpdateExpression: update,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ...(t.returnValues ? { ReturnValues: t.returnValues } : {}),
  };
}

/**
 * The one table every record lives in: single-item reads and writes, one conditional-transition primitive that
 * every state change goes through, and paged index queries whose tokens a caller cannot forge into another
 * partition.
 */
export function recordTable(doc: DynamoDBDocumentClient, tableName: string) {
  const pagedQuery = async (input: QueryCommandInput) => {
    try {
      return await aws('DynamoDB.Query', () => doc.send(new QueryCommand(input)));
    } catch (error) {
      // A start key that came from a caller: DynamoDB's refusal of it is the caller's error, not ours.
      if (input.ExclusiveStartKey && error instanceof Error && error.name === 'ValidationException') {
        throw validationError('nextToken', 'nextToken is not valid');
      }
      throw error;
    }
  };

  const page = async <T>(input: QueryCommandInput, index: IndexName, partition: string, nextToken?: string) => {
    if (nextToken !== undefined) input.ExclusiveStartKey = decodeNextToken(nextToken, index, partition);
    const out = await pagedQuery(input);
    const result: Page<T> = { items: (out.Items ?? []).map((i) => strip<T>(i) as T) };
    if (out.LastEvaluatedKey) {
      result.nextToken = Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url');
    }
    return result;
  };

  const table = {
    /** The item (read consistently), or undefined. */
    async get(key: Key): Promise<Item | undefined> {
      const out = await aws('DynamoDB.GetItem', () =>
        doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true })),
      );
      return out.Item;
    },

    /**
     * The items with these keys that exist (read consistently), 100 keys per request, keys DynamoDB left
     * unprocessed asked for again (with a short backoff) until none is left.
     */
    async batchGet(keys: readonly Key[]): Promise<Item[]> {
      const items: Item[] = [];
      for (let i = 0; i < keys.length; i += 100) {
        let pending: Key[] = keys.slice(i, i + 100);
        for (let round = 0; pending.length > 0; round++) {
          if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** round, 1_000)));
          const out = await aws('DynamoDB.BatchGetItem', () =>
            doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } })),
          );
          items.push(...(out.Responses?.[tableName] ?? []));
          pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
          if (round > 20 && pending.length > 0) throw new Error('DynamoDB left keys unprocessed after 20 rounds');
        }
      }
      return items;
    },

    /** Writes the item unconditionally. */
    async put(item: Item): Promise<void> {
      await aws('DynamoDB.PutItem', () => doc.send(new PutCommand({ TableName: tableName, Item: item })));
    },

    /** Writes the item if `condition` holds; false if it did not. */
    async putIf(item: Item, condition: string, values?: Item, names?: Record<string, string>): Promise<boolean> {
      const out = await conditional('DynamoDB.PutItem', () =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: condition,
            ...(values ? { ExpressionAttributeValues: values } : {}),
            ...(names ? { ExpressionAttributeNames: names } : {}),
          }),
        ),
      );
      return out !== undefined;
    },

    /** Creates the item; false if one with its key exists. */
    putIfAbsent: (item: Item) => table.putIf(item, 'attribute_not_exists(pk)'),

    /** Replaces the item if its `version` is still `expected`; false if someone changed it. */
    putIfVersion: (item: Item, expected: number) =>
      table.putIf(item, '#v = :v', { ':v': expected }, { '#v': 'version' }),

    /** A raw UpdateItem (its condition failing throws). */
    update: (input: Omit<UpdateCommandInput, 'TableName'>) =>
      aws('DynamoDB.UpdateItem', () => doc.send(new UpdateCommand({ ...input, TableName: tableName }))),

    /** Applies `t` to the item at `key`: the attributes asked for (or `{}`), or undefined when `t` did not apply. */
    async transition(key: Key, t: Transition): Promise<Item | undefined> {
      const out = await conditional('DynamoDB.UpdateItem', () =>
        doc.send(new UpdateCommand(transitionInput(tableName, key, t))),
      );
      return out === undefined ? undefined : (out.Attributes ?? {});
    },

    /** Deletes the item (when `condition` holds, if given); false if it did not. */
    async delete(key: Key, condition?: string, values?: Item): Promise<boolean> {
      const out = await conditional('DynamoDB.DeleteItem', () =>
        doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: key,
            ...(condition ? { ConditionExpression: condition } : {}),
            ...(values ? { ExpressionAttributeValues: values } : {}),
          }),
        ),
      );
      return out !== undefined;
    },

    /** One page of an index partition, newest first. */
    query<T>(index: IndexName, partitionAttr: string, partition: string, limit: number, nextToken?: string) {
      const input: QueryCommandInput = {
        TableName: tableName,
        IndexName: index,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': partitionAttr },
        ExpressionAttributeValues: { ':p': partition },
        ScanIndexForward: false,
        Limit: limit,
      };
      return page<T>(input, index, partition, nextToken);
    },

    /**
     * One page of an index partition, newest first, holding only items that pass `filter` (a FilterExpression):
     * DynamoDB's pages are read until `limit` items passed or 20 pages were read, and the token points right after
     * the last item returned.
     */
    async queryFiltered<T>(
      index: IndexName,
      partitionAttr: string,
      partition: string,
      limit: number,
      filter: { expression: string; names: Record<string, string>; values: Item } | undefined,
      nextToken?: string,
      /** Only items whose index sort key is at least this (newest first, so the query stops there). */
      sortFrom?: string,
    ): Promise<Page<T>> {
      if (!filter && sortFrom === undefined) return table.query<T>(index, partitionAttr, partition, limit, nextToken);
      const [, sortAttr] = INDEX_KEYS[index];
      const input: QueryCommandInput = {
        TableName: tableName,
        IndexName: index,
        KeyConditionExpression: sortFrom === undefined ? '#p = :p' : '#p = :p AND #sortKey >= :sortFrom',
        ...(filter ? { FilterExpression: filter.expression } : {}),
        ExpressionAttributeNames: {
          '#p': partitionAttr,
          ...(sortFrom === undefined ? {} : { '#sortKey': sortAttr }),
          ...filter?.names,
        },
        ExpressionAttributeValues: {
          ':p': partition,
          ...(sortFrom === undefined ? {} : { ':sortFrom': sortFrom }),
          ...filter?.values,
        },
        ScanIndexForward: false,
        Limit: Math.max(limit, 100),
      };
      if (nextToken !== undefined) input.ExclusiveStartKey = decodeNextToken(nextToken, index, partition);
      const found: Item[] = [];
      let last: Record<string, unknown> | undefined;
      for (let round = 0; round < 20; round++) {
        const out = await pagedQuery(input);
        found.push(...(out.Items ?? []));
        last = out.LastEvaluatedKey;
        if (!last || found.length >= limit) break;
        input.ExclusiveStartKey = last;
      }
      const items = found.slice(0, limit);
      const result: Page<T> = { items: items.map((i) => strip<T>(i) as T) };
      const lastItem = items[items.length - 1];
      // More passed than asked for: continue right after the last one returned (its own key), else where DynamoDB
      // stopped.
      const resume =
        found.length > limit && lastItem
          ? {
              pk: lastItem.pk,
              sk: lastItem.sk,
              [partitionAttr]: lastItem[partitionAttr],
              [sortAttr]: lastItem[sortAttr],
            }
          : last;
      if (resume) result.nextToken = Buffer.from(JSON.stringify(resume)).toString('base64url');
      return result;
    },

    /** One page of the sparse due-date index up to `nowIso`, oldest first. */
    queryDue<T>(nowIso: string, limit: number, nextToken?: string) {
      const input: QueryCommandInput = {
        TableName: tableName,
        IndexName: 'byDue',
        KeyConditionExpression: 'duePk = :due AND dueSk <= :now',
        ExpressionAttributeValues: { ':due': 'DUE', ':now': `${nowIso}#~` },
        Limit: limit,
      };
      return page<T>(input, 'byDue', 'DUE', nextToken);
    },
  };
  return table;
}

export type RecordTable = ReturnType<typeof recordTable>;

/**
 * A pagination token must decode to a complete key of the index's item in the caller's own partition: exactly the
 * table and index key attributes, non-empty strings, and the partition asked for (no peeking into others').
 */
function decodeNextToken(token: string, index: IndexName, partition: string): Record<string, string> {
  const invalid = () => validationError('nextToken', 'nextToken is not valid');
  let key: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) throw invalid();
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const [partitionAttr, sortAttr] = INDEX_KEYS[index];
  const expected = ['pk', 'sk', partitionAttr, sortAttr].sort();
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid();
  const record = key as Record<string, unknown>;
  const names = Object.keys(record).sort();
  if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) throw invalid();
  if (
    !names.every(
      (n) => typeof record[n] === 'string' && (record[n] as string).length > 0 && (record[n] as string).length <= 512,
    )
  ) {
    throw invalid();
  }
  if (record[partitionAttr] !== partition) throw invalid();
  return record as Record<string, string>;
}
