/**
 * Setup-time clients of the benchmark (never on a measured path): JSON over fetch to the servers,
 * a minimal RESP client for Redis housekeeping, and the users and sessions the scenarios need.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export interface JsonReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function http(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { raw: text.slice(0, 200) }; }
  return { status: response.status, body: (parsed && typeof parsed === 'object' ? parsed : { value: parsed }) as Record<string, unknown> };
}

export interface Pair {
  readonly access: string;
  readonly refresh: string;
}

function pairOf(reply: JsonReply, what: string): Pair {
  const { access_token: access, refresh_token: refresh } = reply.body;
  if (reply.status >= 300 || typeof access !== 'string' || typeof refresh !== 'string') {
    throw new Error(`${what}: HTTP ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
  }
  return { access, refresh };
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Registers a fresh tollgate user (random name, strong random password). */
export async function tollgateUser(base: string): Promise<Credentials> {
  const creds = { username: `bench_${randomBytes(6).toString('hex')}`, password: `Bench-${randomBytes(12).toString('base64url')}-pw` };
  const reply = await http('POST', `${base}/auth/register`, creds);
  if (reply.status !== 201) throw new Error(`register: HTTP ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
  return creds;
}

export async function tollgateLogin(base: string, creds: Credentials): Promise<Pair> {
  return pairOf(await http('POST', `${base}/auth/login`, creds), 'tollgate login');
}

/** The peers' contract: one fixed user. */
export async function peerLogin(base: string): Promise<Pair> {
  return pairOf(await http('POST', `${base}/login`, { username: 'username', password: 'password' }), 'peer login');
}

/** `count` sessions (logins), at most `parallel` at a time; returns their refresh tokens. */
export async function refreshTokens(count: number, parallel: number, login: () => Promise<Pair>): Promise<string[]> {
  const tokens: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      tokens.push((await login()).refresh);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return tokens;
}

/** The claims of a JWT, unverified (for cleanup bookkeeping only). */
export function jwtClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Sends Redis commands on one connection (db `db`) and returns the one-line replies. Only for
 * replies of one line (+OK, :n, -ERR), which is all the housekeeping needs.
 */
export async function redisCommands(port: number, db: number, commands: string[][], timeoutMs = 3000): Promise<string[]> {
  const all = [['SELECT', String(db)], ...commands];
  const wire = all.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join('');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffer = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`redis at 127.0.0.1:${port} did not answer in ${timeoutMs} ms`)); }, timeoutMs);
    socket.on('connect', () => socket.write(wire));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\r\n').filter((l) => /^[+\-:]/.test(l));
      if (lines.length >= all.length) {
        clearTimeout(timer);
        socket.end();
        resolve(lines.slice(1, all.length));
      }
    });
    socket.on('error', (error) => { clearTimeout(timer); reject(error); });
  });
}
