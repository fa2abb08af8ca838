/**
 * A small persisted JSON document for the local emulators: read once at start-up, rewritten whole after each
 * change. Writes go to a temporary file that is then renamed over the old one, so a crash mid-write never
 * leaves a half-written document behind.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
