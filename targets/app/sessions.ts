// Login sessions. In process memory (phases 1–2: the app is stateful, a login on one server means
// nothing to another, and a restart logs everyone out), or in Redis (phase 3 on: any app server
// can answer any user).
import { randomBytes } from 'node:crypto';
import type { GuardedRedis } from './redis.ts';

export const SESSION_TTL_SECONDS = 1_800;
/** a bound on the in-memory store: a long login-heavy run must not exhaust the app host's memory */
export const MEMORY_SESSION_CAP = 200_000;

export const sessionKey = (sid: string) => `session:${sid}`;

interface SessionData {
  userId: number;
  createdAt: number;
}

/** Where sessions live. Contract: methods may be called concurrently; errors mean the store is down. */
export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** a new session for the user; returns its id (the cookie value and the bearer token) */
  create(userId: number): Promise<string>;
  /** the user of a session, null when unknown or expired */
  get(sid: string): Promise<number | null>;
}

const newSid = () => randomBytes(24).toString('base64url');

/** Sessions in this process: lost on restart, invisible to other app servers. */
export function memorySessions(now: () => number = Date.now, cap = MEMORY_SESSION_CAP): SessionStore {
  const sessions = new Map<string, SessionData>();
  const ttlMs = SESSION_TTL_SECONDS * 1_000;
  return {
    kind: 'memory',
    async create(userId) {
      const sid = newSid();
      // a Map iterates in insertion order: the first entries are the oldest sessions
      while (sessions.size >= cap) sessions.delete(sessions.keys().next().value!);
      sessions.set(sid, { userId, createdAt: now() });
      return sid;
    },
    async get(sid) {
      const s = sessions.get(sid);
      if (!s) return null;
      if (now() - s.createdAt >= ttlMs) {
        sessions.delete(sid);
        return null;
      }
      return s.userId;
    },
  };
}

/** Sessions in a shared Redis under `session:<sid>` with a TTL of 1800 s. */
export function redisSessions(redis: GuardedRedis): SessionStore {
  return {
    kind: 'redis',
    async create(userId) {
      const sid = newSid();
      const data: SessionData = { userId, createdAt: Date.now() };
      await redis.run((r) => r.set(sessionKey(sid), JSON.stringify(data), 'EX', SESSION_TTL_SECONDS));
      return sid;
    },
    async get(sid) {
      const raw = await redis.run((r) => r.get(sessionKey(sid)));
      return raw ? (JSON.parse(raw) as SessionData).userId : null;
    },
  };
}

/** The session id of a request: the `sid` cookie, or an `Authorization: Bearer <token>` header. */
export function sessionIdOf(headers: { cookie?: string; authorization?: string }): string | null {
  const auth = headers.authorization;
  if (auth && auth.startsWith('Bearer ')) {
    const token = auth.slice(7).trim();
    if (token) return token;
  }
  const cookie = headers.cookie;
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'sid') {
      const v = part.slice(eq + 1).trim();
      return v || null;
    }
  }
  return null;
}
