import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonLog } from '../../local/aws/json-store';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tw-json-log-'));
  dirs.push(dir);
  return join(dir, 'store.json');
}

describe('JsonLog', () => {
  it('starts from the initial document and refuses to append before the document is written', () => {
    const log = new JsonLog<{ items: number[] }, number>(tempFile(), () => ({ items: [] }));
    expect(log.read()).toEqual({ document: { items: [] }, entries: [] });
    expect(log.ready).toBe(false);
    expect(() => log.append(1)).toThrow(/write the document before appending/);
  });

  it('writes the document, appends entries after it owner-only, and reads both back', () => {
    const file = tempFile();
    const log = new JsonLog<{ items: number[] }, { add: number }>(file, () => ({ items: [] }));
    log.write({ items: [1] });
    log.append({ add: 2 });
    log.append({ add: 3 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').split('\n')).toEqual(['{"items":[1]}', '{"add":2}', '{"add":3}', '']);
    expect(new JsonLog(file, () => ({})).read()).toEqual({
      document: { items: [1] },
      entries: [{ add: 2 }, { add: 3 }],
    });
  });

  it('reads a plain (pretty-printed) JSON document as a document with no entries', () => {
    const file = tempFile();
    writeFileSync(file, JSON.stringify({ items: [1, 2] }, null, 2));
    expect(new JsonLog(file, () => ({})).read()).toEqual({ document: { items: [1, 2] }, entries: [] });
  });

  it('drops a last line cut short by a crash, but refuses a broken line before it', () => {
    const file = tempFile();
    const log = new JsonLog<{ items: number[] }, { add: number }>(file, () => ({ items: [] }));
    log.write({ items: [] });
    log.append({ add: 1 });
    appendFileSync(file, '{"add":');
    expect(new JsonLog(file, () => ({})).read().entries).toEqual([{ add: 1 }]);
    appendFileSync(file, '\n{"add":4}\n');
    expect(() => new JsonLog(file, () => ({})).read()).toThrow(/not valid JSON/);
  });

  it('asks for a rewrite once the entries outweigh the document, and a rewrite folds them in', () => {
    const file = tempFile();
    const log = new JsonLog<{ items: number[] }, number>(file, () => ({ items: [] }), 64);
    log.write({ items: [0] });
    for (let i = 1; log.wantsRewrite === false; i++) log.append(i);
    log.write({ items: [0, 1, 2] });
    expect(log.wantsRewrite).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('{"items":[0,1,2]}\n');
  });
});
