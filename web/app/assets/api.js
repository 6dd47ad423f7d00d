// The REST API as the client uses it: session cookie, Django's CSRF double submit on unsafe
// methods, JSON both ways, and errors turned into words.

export class ApiError extends Error {
  constructor(status, data, retryAfter) {
    super(describe(status, data));
    this.status = status;
    this.data = data;
    this.retryAfter = retryAfter;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!['GET', 'HEAD'].includes(method)) headers['X-CSRFToken'] = csrfToken();
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data, Number(res.headers.get('Retry-After')) || null);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

// True when the session is missing or over (DRF answers 403, not 401).
export const isSignedOut = (err) =>
  err instanceof ApiError && err.status === 403 && /credentials were not provided|Invalid/i.test(err.data?.detail ?? '');

// One sentence for an error body: DRF's detail, the first field error, or the status.
function describe(status, data) {
  if (status === 0) return 'Cannot reach the server. Check your connection.';
  if (data && typeof data === 'object') {
    if (typeof data.detail === 'string') return data.detail;
    if (typeof data.error === 'string') return data.error;
    for (const [field, messages] of Object.entries(data)) {
      const text = Array.isArray(messages) ? messages.join(' ') : String(messages);
      return field === 'non_field_errors' ? text : `${field.replace(/_/g, ' ')}: ${text}`;
    }
  }
  return `The server answered ${status}.`;
}
