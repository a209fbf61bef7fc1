// The HTTP requests of each kind, exactly as loadtests/workloads.ts documents them. Every request
// is tagged `name: <kind>`, which is what per-kind thresholds, the summary and the JSON output key on.
import http from 'k6/http';
import { check } from 'k6';
import type { Params } from 'k6/http';
import type { PlannedRequest } from './plan.ts';
import { SESSION_CHECK } from './options.ts';

/** Where requests go and how long each may take. */
export interface RequestTargets {
  apiUrl: string;
  staticUrl: string;
  timeoutMs: number;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** Sends one planned iteration (one request, or two for a login). */
export function send(req: PlannedRequest, to: RequestTargets): void {
  const params = (extra?: Params): Params => ({
    timeout: to.timeoutMs,
    ...extra,
    tags: { name: req.kind },
  });
  switch (req.kind) {
    case 'read':
      http.get(`${to.apiUrl}/api/users/${req.id}`, params());
      return;
    case 'update':
      http.put(`${to.apiUrl}/api/users/${req.id}`, JSON.stringify({ name: req.name }), params({ headers: JSON_HEADERS }));
      return;
    case 'create':
      http.post(
        `${to.apiUrl}/api/users`,
        JSON.stringify({ id: req.id, name: req.name, email: req.email }),
        params({ headers: JSON_HEADERS }),
      );
      return;
    case 'login': {
      const res = http.post(`${to.apiUrl}/api/login`, JSON.stringify({ id: req.id }), params({ headers: JSON_HEADERS }));
      const session: Record<string, { value: string; replace: boolean }> = {};
      for (const name of Object.keys(res.cookies)) {
        const first = res.cookies[name][0];
        if (first !== undefined) session[name] = { value: first.value, replace: true };
      }
      // an HTTP or network error is already counted by k6; an answer without a session is the
      // engine's `no_session` error, which only this check records (the k6 driver adds its failures
      // to the errors)
      if (res.status === 0 || res.status >= 400) return;
      if (!check(res, { [SESSION_CHECK]: () => Object.keys(session).length > 0 })) return;
      http.get(`${to.apiUrl}/api/me`, params({ cookies: session }));
      return;
    }
    case 'static':
      http.get(`${to.staticUrl}/static/${req.asset}`, params());
      return;
  }
}
