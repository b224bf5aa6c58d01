/**
 * Talking to the API from the page: the API key (when the API has keys) kept in sessionStorage, sent as
 * `Authorization: Bearer` on fetches and as `?access_token=` on event streams (EventSource cannot set headers).
 */
const KEY_STORAGE = 'agent-orchestrator.api-key';

export const apiKey = (): string | null => sessionStorage.getItem(KEY_STORAGE);
export const setApiKey = (key: string | null): void => {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
};

/** An answer of the API other than 2xx, with its error envelope's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorized = new Set<Listener>();
/** Called when the API answers 401: the page asks for a key. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorized.add(fn);
  return () => unauthorized.delete(fn);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const key = apiKey();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401) for (const fn of unauthorized) fn();
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? (text || res.statusText));
  }
  return body as T;
}

/** The URL of an event stream, with the key as `access_token` when there is one, and where to resume. */
export function streamUrl(path: string, lastEventId?: string): string {
  const params = new URLSearchParams();
  const key = apiKey();
  if (key) params.set('access_token', key);
  if (lastEventId) params.set('lastEventId', lastEventId);
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}
