/**
 * A small persisted JSON document for the local emulators: read once at start-up, rewritten whole after each
 * change. Writes go to a temporary file that is then renamed over the old one, so a crash mid-write never
 * leaves a half-written document behind.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One JSON document on disk (or only in memory when `file` is undefined). */
export class JsonStore<T> {
  /**
   * @param file - where the document lives; `undefined` keeps it in memory only (tests).
   * @param initial - the document to start from when the file does not exist yet.
   */
  constructor(
    readonly file: string | undefined,
    private readonly initial: () => T,
  ) {}

  /**
   * Reads the document, or returns `initial()` when there is no file yet.
   * @throws Error naming the file when it exists but is not valid JSON — silently starting empty would lose data.
   */
  read(): T {
    if (!this.file) return this.initial();
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.initial();
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      // No `cause`: the parser's message quotes the file, which may hold secret values.
      throw new Error(`${this.file} is not valid JSON (delete it, or start with --reset)`);
    }
  }

  /** Replaces the document on disk. */
  write(value: T): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    // Owner-only from the first byte: some documents (secrets, the fake's tokens) hold secret values.
    writeFileSync(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
    renameSync(temp, this.file);
  }
}

/**
 * A persisted JSON document that changes by small entries, for stores that grow large: the file holds the document
 * on its first line and then one entry per line, appended as changes happen, so a change costs its entry rather than
 * a rewrite of everything. Once the entries outweigh the document the owner rewrites the file whole (temporary file +
 * rename, as {@link JsonStore} does), holding the document alone again. A file holding one plain JSON document (what
 * `JsonStore` writes) reads as that document with no entries. A crash mid-append can leave only the last line
 * incomplete; reading drops it.
 */
export class JsonLog<T, E> {
  private documentBytes = 0;
  private entryBytes = 0;
  /** Set by {@link write}: the file is in this format and its last line is complete. */
  private appendable = false;

  /**
   * @param file - where the document lives; `undefined` keeps it in memory only (tests).
   * @param initial - the document to start from when the file does not exist yet.
   * @param minRewriteBytes - entries below this size never trigger a rewrite.
   */
  constructor(
    readonly file: string | undefined,
    private readonly initial: () => T,
    private readonly minRewriteBytes = 1 << 20,
  ) {}

  /**
   * The document and the entries appended after it, in order.
   * @throws Error naming the file when a line other than an incomplete last one is not valid JSON.
   */
  read(): { document: T; entries: E[] } {
    if (!this.file) return { document: this.initial(), entries: [] };
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { document: this.initial(), entries: [] };
      throw error;
    }
    // No `cause` on parse errors: the parser's message quotes the file, which may hold secret values.
    const invalid = () => new Error(`${this.file} is not valid JSON (delete it, or start with --reset)`);
    try {
      const document = JSON.parse(text) as T;
      this.documentBytes = text.length;
      return { document, entries: [] };
    } catch {
      // A document followed by entries, one per line.
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    let document: T;
    try {
      document = JSON.parse(lines[0] ?? '') as T;
    } catch {
      throw invalid();
    }
    this.documentBytes = (lines[0] ?? '').length;
    const entries: E[] = [];
    for (let i = 1; i < lines.length; i++) {
      try {
        entries.push(JSON.parse(lines[i] as string) as E);
        this.entryBytes += (lines[i] as string).length;
      } catch {
        if (i === lines.length - 1) break; // an append cut short by a crash
        throw invalid();
      }
    }
    return { document, entries };
  }

  /**
   * True once {@link write} has put the file in this format (with a complete last line): only then may changes be
   * appended. Until then the owner writes the document whole.
   */
  get ready(): boolean {
    return this.appendable || !this.file;
  }

  /** Appends one change (see {@link ready}). */
  append(entry: E): void {
    if (!this.file) return;
    if (!this.appendable) throw new Error(`${this.file}: write the document before appending to it`);
    const line = `${JSON.stringify(entry)}\n`;
    // Owner-only from the first byte: some documents hold secret values.
    appendFileSync(this.file, line, { mode: 0o600 });
    this.entryBytes += line.length;
  }

  /** True when the entries outweigh the document: time to {@link write} the document whole. */
  get wantsRewrite(): boolean {
    return this.entryBytes > Math.max(this.documentBytes, this.minRewriteBytes);
  }

  /** Replaces the file with `document` alone. */
  write(document: T): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    const text = `${JSON.stringify(document)}\n`;
    writeFileSync(temp, text, { mode: 0o600 });
    renameSync(temp, this.file);
    this.documentBytes = text.length;
    this.entryBytes = 0;
    this.appendable = true;
  }
}
