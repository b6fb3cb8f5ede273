// auth.js signs the user in and keeps a valid ID token. Locally the stack's token issuer
// (POST /local/token with a seeded user's email); in AWS Cognito's hosted sign-in with the
// authorization code flow and PKCE (a public client: no secret), the tokens refreshed silently
// with the refresh token before the ID token expires. /config.json says which.

const KEY = 'buzon.auth';
let config = { sign_in: 'local' };
let session = null; // {id_token, refresh_token, exp}
let refreshTimer = null;
let onChange = () => {};

export async function init(changed) {
  onChange = changed;
  const r = await fetch('/config.json', { cache: 'no-cache' });
  if (r.ok) config = await r.json();
  try {
    session = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    session = null;
  }
  const params = new URLSearchParams(location.search);
  if (config.sign_in === 'cognito' && params.has('code')) {
    await finishCognito(params.get('code'), params.get('state'));
    history.replaceState(null, '', '/' + location.hash);
  }
  if (session && session.exp * 1000 < Date.now() + 10_000 && !(await refresh())) {
    forget();
  }
  schedule();
  return config;
}

export function mode() {
  return config.sign_in;
}

export function token() {
  return session ? session.id_token : null;
}

// claims are the ID token's claims (sub, email, name, custom:org_id).
export function claims() {
  return session ? decode(session.id_token) : null;
}

function decode(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

function keep(idToken, refreshToken) {
  session = { id_token: idToken, refresh_token: refreshToken || (session && session.refresh_token) || null, exp: decode(idToken).exp || 0 };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  schedule();
  onChange();
}

function forget() {
  session = null;
  sessionStorage.removeItem(KEY);
  clearTimeout(refreshTimer);
}

// signInLocal asks the local issuer for a seeded user's token.
export async function signInLocal(email) {
  const r = await fetch('/local/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email }) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || 'sign-in failed (' + r.status + ')');
  keep(body.token, null);
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function redirectURI() {
  return location.origin + '/';
}

// signInCognito goes to the hosted sign-in page with a fresh PKCE verifier and state.
export async function signInCognito() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('buzon.pkce', JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: config.cognito.client_id, redirect_uri: redirectURI(),
    scope: 'openid email profile', state, code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(config.cognito.domain + '/oauth2/authorize?' + q);
}

async function tokenRequest(params) {
  const r = await fetch(config.cognito.domain + '/oauth2/token', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: config.cognito.client_id, ...params }),
  });
  if (!r.ok) throw new Error('token endpoint: ' + r.status);
  return r.json();
}

async function finishCognito(code, state) {
  const pkce = JSON.parse(sessionStorage.getItem('buzon.pkce') || 'null');
  sessionStorage.removeItem('buzon.pkce');
  if (!pkce || pkce.state !== state) return; // not our request: ignore the code
  const t = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: redirectURI(), code_verifier: pkce.verifier });
  keep(t.id_token, t.refresh_token);
}

// refresh gets a new ID token with the refresh token (Cognito); false when it cannot.
async function refresh() {
  if (config.sign_in !== 'cognito' || !session || !session.refresh_token) return false;
  try {
    const t = await tokenRequest({ grant_type: 'refresh_token', refresh_token: session.refresh_token });
    keep(t.id_token, t.refresh_token);
    return true;
  } catch {
    return false;
  }
}

function schedule() {
  clearTimeout(refreshTimer);
  if (!session || config.sign_in !== 'cognito') return;
  const wait = Math.max(5_000, session.exp * 1000 - Date.now() - 120_000);
  refreshTimer = setTimeout(async () => {
    if (!(await refresh())) expired();
  }, wait);
}

// expired forgets the session (a 401, a failed refresh): the page shows the sign-in again.
export function expired() {
  forget();
  onChange();
}

export function signOut() {
  const wasCognito = config.sign_in === 'cognito' && session;
  forget();
  if (wasCognito) {
    location.assign(config.cognito.domain + '/logout?' + new URLSearchParams({ client_id: config.cognito.client_id, logout_uri: redirectURI() }));
    return;
  }
  onChange();
}
