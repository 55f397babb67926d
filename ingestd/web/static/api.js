// The HTTP API, with the user's key: every call sends it as "Authorization: Bearer <key>";
// errors come back as ApiError carrying the API's problem+json (code, detail, status).

const STORE_NAME = "ingestd.key";

/** Where the API lives: relative to the page (/dashboard), so a path prefix set by a proxy
 * (root_path) carries over. */
export function apiUrl(path, params) {
  const url = new URL(path.replace(/^\//, ""), document.baseURI);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url;
}

// -- the key ---------------------------------------------------------------------------------
// sessionStorage by default (gone when the tab closes); localStorage only when the user asks.

export function savedKey() {
  return sessionStorage.getItem(STORE_NAME) || localStorage.getItem(STORE_NAME);
}

export function saveKey(key, remember) {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(STORE_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORE_NAME);
  localStorage.removeItem(STORE_NAME);
}

// -- calls -----------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem.detail || problem.title || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.code = problem.code || "http_error";
    this.detail = detail;
    this.problem = problem;
  }
}

let onUnauthorized = () => {};

/** Called when any call answers 401: the key is wrong or was revoked. */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * One call. `body` is sent as JSON unless it is FormData (multipart, for uploads).
 * `key` overrides the saved one (the sign-in form checks a key before saving it).
 */
export async function call(method, path, { params, body, key } = {}) {
  const headers = { Accept: "application/json" };
  const token = key ?? savedKey();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method,
      headers,
      body: payload,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, {
      code: "network_error",
      detail: `the server did not answer (${error.message}); is ingestd running?`,
    });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => ({})) : {};
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && key === undefined) onUnauthorized(error);
    throw error;
  }
  return data;
}

export const get = (path, params) => call("GET", path, { params });
export const post = (path, body) => call("POST", path, { body });

/** A one-line description of an error, for the alert bar and the forms. */
export function describe(error) {
  if (error instanceof ApiError) {
    // The field errors the detail does not already spell out (FastAPI's 422 names fields only).
    const fields = (error.problem.errors || [])
      .filter((e) => e.msg && !error.detail.includes(e.msg))
      .map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`);
    const more = fields.length ? ` (${fields.slice(0, 3).join("; ")})` : "";
    const code = error.status ? ` [${error.status} ${error.code}]` : "";
    return `${error.detail}${more}${code}`;
  }
  return String(error && error.message ? error.message : error);
}
