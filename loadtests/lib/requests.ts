// Sends one planned iteration the way its catalogue entry (loadtests/catalogue.ts) describes it:
// method, path and body templates, the session a login sets, its follow-ups. Every request is
// tagged `name: <kind>`, which is what per-kind thresholds, the summary and the JSON output key on.
import http from 'k6/http';
import { check } from 'k6';
import type { Params, RefinedResponse, ResponseType } from 'k6/http';
import { catalogue as builtIn, compileBody, compileTemplate, deriver, SUCCESS, type Catalogue, type Filler, type RequestVars, type StatusSet } from '../catalogue.ts';
import type { PlannedRequest } from './plan.ts';
import { SESSION_CHECK } from './options.ts';

/** Where requests go and how long each may take. */
export interface RequestTargets {
  apiUrl: string;
  staticUrl: string;
  timeoutMs: number;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

interface Step {
  method: string;
  path: Filler;
  body: Filler | null;
  withSession: boolean;
  /** k6's expectedStatuses callback when the step's set is not k6's default (200..399) */
  responseCallback: ReturnType<typeof http.expectedStatuses> | undefined;
}

interface Compiled {
  origin: 'api' | 'static';
  setsSession: boolean;
  steps: Step[];
  derive: ((v: RequestVars) => void) | null;
}

const isDefault = (set: StatusSet): boolean => JSON.stringify(set) === JSON.stringify(SUCCESS);

function step(method: string, path: string, body: Parameters<typeof compileBody>[0], withSession: boolean, expect: StatusSet): Step {
  return {
    method,
    path: compileTemplate(path),
    body: compileBody(body),
    withSession,
    responseCallback: isDefault(expect) ? undefined : http.expectedStatuses(...(expect as Array<number | { min: number; max: number }>)),
  };
}

/** Compiles a catalogue for sending (once per VU, in the init context). */
export function compileForK6(cat: Catalogue): Map<string, Compiled> {
  const out = new Map<string, Compiled>();
  for (const e of cat.entries) {
    out.set(e.name, {
      origin: e.origin,
      setsSession: e.setsSession === true,
      derive: deriver(e),
      steps: [step(e.method, e.path, e.body, false, e.expect), ...(e.then ?? []).map((f) => step(f.method, f.path, f.body, f.withSession === true, f.expect))],
    });
  }
  return out;
}

let compiledBuiltIn: Map<string, Compiled> | null = null;

// k6's per-method calls for the usual methods (what the k6 docs show, and what the export test's
// stubs record); http.request for any other.
function call(method: string, url: string, body: string | null, params: Params): RefinedResponse<ResponseType | undefined> {
  switch (method) {
    case 'GET':
      return http.get(url, params);
    case 'POST':
      return http.post(url, body, params);
    case 'PUT':
      return http.put(url, body, params);
    default:
      return http.request(method, url, body, params);
  }
}

/** Sends one planned iteration (one request, or more for an entry with follow-ups). */
export function send(req: PlannedRequest, to: RequestTargets, compiled: Map<string, Compiled> = (compiledBuiltIn ??= compileForK6(builtIn))): void {
  const c = compiled.get(req.kind);
  if (c === undefined) throw new Error(`bench k6 script: no request type ${req.kind} in the catalogue`);
  const base = c.origin === 'static' ? to.staticUrl : to.apiUrl;
  const vars = req as unknown as RequestVars;
  let session: Record<string, { value: string; replace: boolean }> | null = null;
  for (let i = 0; i < c.steps.length; i++) {
    const s = c.steps[i];
    const params: Params = { timeout: to.timeoutMs, tags: { name: req.kind } };
    const body = s.body ? s.body(vars) : null;
    if (body !== null) params.headers = JSON_HEADERS;
    if (s.withSession && session !== null) params.cookies = session;
    if (s.responseCallback !== undefined) params.responseCallback = s.responseCallback;
    const res = call(s.method, base + s.path(vars), body, params);
    if (i === c.steps.length - 1) return;
    // an HTTP or network error is already counted by k6: no follow-up
    if (res.status === 0 || res.status >= 400) return;
    if (i === 0 && c.setsSession) {
      session = {};
      for (const name of Object.keys(res.cookies)) {
        const first = res.cookies[name][0];
        if (first !== undefined) session[name] = { value: first.value, replace: true };
      }
      // an answer without a session is the engine's `no_session` error, which only this check
      // records (the k6 driver adds its failures to the errors)
      if (!check(res, { [SESSION_CHECK]: () => Object.keys(session!).length > 0 })) return;
    }
  }
}
