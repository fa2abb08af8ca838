import { apiHandler, json } from '../edge/http';

/** `GET /health`: no dependencies, no auth. */
export const handler = apiHandler(async () => json(200, { status: 'ok' }));
