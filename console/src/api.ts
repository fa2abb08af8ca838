/**
 * The HTTP API, over ky: every call carries the signed-in member's access token; answers that are not 2xx become an
 * {@link ApiError} with the API's `code`, `message` and `field`, so pages can show an error next to the field it names.
 */
import ky, { HTTPError } from 'ky';
import { ApiError, apiErrorOf, isAuthorizerRefusal } from './api-errors';
import { accessToken, forget, justSignedIn, signIn } from './auth';
import type { ConsoleConfig } from './config';

export { ApiError };

/** Turns any failure of a call into an {@link ApiError}. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPError) return apiErrorOf(error.response.status, error.data);
  return new ApiError(0, 'NETWORK_ERROR', 'The API could not be reached. Check the connection and try again.');
}

export type Query = Record<string, string | number | undefined>;

/** A client of the API for one deployment. */
export interface Api {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
}

export function createApi(config: ConsoleConfig): Api {
  const http = ky.create({
    retry: 0,
    timeout: 20_000,
    hooks: {
      beforeRequest: [
        async ({ request }) => {
          request.headers.set('authorization', `Bearer ${await accessToken(config)}`);
        },
      ],
    },
  });
  // The authorizer refused the token (expired, or revoked): sign in again and come back to this page. Not when the
  // token is fresh from a sign-in: that one would be refused again, so the refusal is shown instead of a loop.
  const failed = async (error: unknown): Promise<never> => {
    if (error instanceof HTTPError && isAuthorizerRefusal(error.response.status, error.data) && !justSignedIn()) {
      forget();
      return signIn(config);
    }
    throw toApiError(error);
  };
  const searchParams = (query: Query = {}) =>
    Object.fromEntries(
      Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== ''),
    );
  return {
    async get<T>(path: string, query?: Query) {
      try {
        return await http.get(path, { searchParams: searchParams(query) }).json<T>();
      } catch (error) {
        return failed(error);
      }
    },
    async post<T>(path: string, body?: unknown, headers?: Record<string, string>) {
      try {
        return await http.post(path, { json: body ?? {}, headers }).json<T>();
      } catch (error) {
        return failed(error);
      }
    },
  };
}
