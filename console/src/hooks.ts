import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, toApiError } from './api';

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
