// api.js calls the agent API on this origin with the signed-in user's token.
import * as auth from './auth.js';

export class APIError extends Error {
  constructor(status, code, message, details) {
    super(message || code || 'HTTP ' + status);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

// call sends method path (body as JSON) and returns the decoded answer (null for 204).
export async function call(method, path, body, extra = {}) {
  const headers = { Authorization: 'Bearer ' + auth.token() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  Object.assign(headers, extra);
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new APIError(0, 'network', e.message);
  }
  if (r.status === 401) {
    auth.expired();
    throw new APIError(401, 'unauthorized', 'signed out');
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const e = (data && data.error) || {};
    throw new APIError(r.status, e.code, e.message || (data && data.message), e);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const put = (path, body) => call('PUT', path, body);
export const patch = (path, body) => call('PATCH', path, body);
export const del = (path) => call('DELETE', path);

// query builds "?a=1&b=2" from the set values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

// all reads every page of a listing (at most max pages).
export async function all(path, params = {}, max = 10) {
  const items = [];
  let cursor = '';
  for (let i = 0; i < max; i++) {
    const page = await get(path + query({ ...params, cursor }));
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

// upload PUTs file to a presigned URL from POST /v1/uploads and returns its upload id.
export async function upload(conversationID, file) {
  const kind = file.type.startsWith('image/') ? 'image' : file.type.startsWith('video/') ? 'video' : file.type.startsWith('audio/') ? 'audio' : 'document';
  const up = await post('/v1/uploads', { conversation_id: conversationID, kind, mime_type: file.type || 'application/octet-stream', size: file.size, filename: file.name });
  const r = await fetch(up.url, { method: up.method || 'PUT', headers: up.headers || {}, body: file });
  if (!r.ok) throw new APIError(r.status, 'upload_failed', 'the upload was refused (' + r.status + ')');
  return { uploadID: up.upload_id, kind };
}
