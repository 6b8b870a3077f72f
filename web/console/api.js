// The API client: the agent's token in sessionStorage (or localStorage with "keep me signed
// in"), X-User-Id / X-Auth-Token on every call, and any 401 back to the login view.

const KEY = 'visitord:session';
let onExpired = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.error || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function session() {
  for (const store of [sessionStorage, localStorage]) {
    try {
      const raw = store.getItem(KEY);
      if (raw) return JSON.parse(raw);
    } catch (e) { /* unreadable: signed out */ }
  }
  return null;
}

export function saveSession(s, keep) {
  clearSession();
  (keep ? localStorage : sessionStorage).setItem(KEY, JSON.stringify(s));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

export function whenExpired(f) {
  onExpired = f;
}

/** GET/POST `/api/v1/<path>`; `query` is an object of parameters. */
export async function api(path, { method = 'GET', query, body, signal, auth = true } = {}) {
  const url = new URL('/api/v1/' + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const s = session();
  if (auth && s) {
    headers['X-User-Id'] = s.userId;
    headers['X-Auth-Token'] = s.authToken;
  }
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  let data = null;
  try {
    data = await res.json();
  } catch (e) { /* not JSON */ }
  if (res.status === 401 && auth) {
    clearSession();
    onExpired();
    throw new ApiError(401, data);
  }
  if (!res.ok || (data && data.success === false)) throw new ApiError(res.status, data);
  return data;
}

export function isAdmin(s) {
  return !!(s && s.me && Array.isArray(s.me.roles) && s.me.roles.includes('admin'));
}
