import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, toApiError } from './api';
import type { Page } from './types';

/** The state of one load: its data, or its error, and a way to load again. */
export interface Load<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `deps` change; the latest call wins, so a slow earlier answer never overwrites a newer one. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Load<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error: toApiError(error), loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

/** One action (a button press): whether it is running, and the error it ended with. */
export function useAction<A extends unknown[], R>(run: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const act = async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await run(...args);
    } catch (e) {
      setError(e instanceof ApiError ? e : toApiError(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { act, busy, error, clearError: () => setError(undefined) };
}

/** A list read page by page (`nextToken`): the items so far, and `more` while the API says there is another page. */
export interface Pages<T> {
  items: T[];
  error?: ApiError;
  loading: boolean;
  more?: () => void;
  reload(): void;
}

/** Loads the first page when `deps` change, and appends the next page on `more()`; the latest call wins. */
export function usePages<T>(load: (nextToken?: string) => Promise<Page<T>>, deps: unknown[]): Pages<T> {
  const [state, setState] = useState<{ items: T[]; nextToken?: string; error?: ApiError; loading: boolean }>({
    items: [],
    loading: true,
  });
  const [round, setRound] = useState(0);
  const call = useRef(0);
  const fetchPage = (nextToken: string | undefined, before: T[]) => {
    const mine = ++call.current;
    setState((s) => ({ ...s, error: undefined, loading: true }));
    load(nextToken).then(
      (page) =>
        mine === call.current &&
        setState({ items: [...before, ...page.items], nextToken: page.nextToken, loading: false }),
      (error: unknown) =>
        mine === call.current && setState((s) => ({ ...s, error: toApiError(error), loading: false })),
    );
  };
  useEffect(() => {
    fetchPage(undefined, []);
    return () => {
      call.current++;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const { items, nextToken, error, loading } = state;
  const more = nextToken ? () => fetchPage(nextToken, items) : undefined;
  return { items, error, loading, more, reload };
}

/** Calls `reload` every `ms` while `active` (a request or token that is still changing on the server). */
export function usePoll(reload: () => void, active: boolean, ms = 4000): void {
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(reload, ms);
    return () => clearInterval(timer);
  }, [reload, active, ms]);
}

/**
 * `Idempotency-Key`s for one form: the same body gets the same key (a double submit, or a retry after a lost
 * answer, makes one record), and an edited body a new one (the API refuses a key reused with another body).
 */
export function useIdempotencyKeys(): (body: unknown) => string {
  const last = useRef<{ json: string; key: string } | undefined>(undefined);
  return (body) => {
    const json = JSON.stringify(body);
    if (last.current?.json !== json) last.current = { json, key: crypto.randomUUID() };
    return last.current.key;
  };
}
