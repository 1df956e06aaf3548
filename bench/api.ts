/**
 * The benchmarks' HTTP client: fetch against a listening app, JSON in and out, and the sign-up and
 * login steps a person would take, so setup goes through the same API as users do.
 */

/** The password of every account a benchmark makes. */
export const BENCH_PASSWORD = 'bench password, long enough';

export interface BenchAnswer {
  json: any;
  /** The size of the answer's body in characters. */
  bytes: number;
}

export function benchApi(base: string) {
  const api = async (method: string, path: string, token: string | null, body?: unknown): Promise<BenchAnswer> => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return { json: text ? JSON.parse(text) : null, bytes: text.length };
  };
  /** An API token for the account. */
  const login = async (email: string, password = BENCH_PASSWORD) => {
    const session = (await api('POST', '/v1/auth/login', null, { email, password })).json.token;
    return (await api('POST', '/v1/tokens', session, { name: 'bench' })).json.token as string;
  };
  const signUp = async (email: string) => {
    await api('POST', '/v1/accounts', null, { email, name: email, password: BENCH_PASSWORD });
    return login(email);
  };
  return { api, login, signUp };
}
