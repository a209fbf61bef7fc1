// The request catalogue: every request type the reference apps answer, as data. The embedded
// engine (harness/load/engine.ts) and the k6 scripts (loadtests/lib/requests.ts) both build their
// requests from these entries, and the drills take their API paths from them, so adding a request
// type is an entry here (and the route in the app), nothing in either driver. Workloads
// (workloads.ts) are mixes over entry names. Pure, no imports: k6's VM runs it too.
//
// Templates name variables in braces: {id}, {name}, {asset}, {opId} (an entry with a `ledger`), and
// any `derived` variable of the entry. In a JSON body, a value that is exactly one placeholder keeps its type ({id} stays a number).

/** a template variable: {name} */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Static assets the app serves, with realistic sizes in bytes. */
export const staticAssets: ReadonlyArray<{ path: string; bytes: number; type: string }> = [
  { path: 'app.js', bytes: 180_000, type: 'application/javascript' },
  { path: 'app.css', bytes: 40_000, type: 'text/css' },
  { path: 'logo.png', bytes: 12_000, type: 'image/png' },
  { path: 'hero.jpg', bytes: 250_000, type: 'image/jpeg' },
  { path: 'favicon.ico', bytes: 1_500, type: 'image/x-icon' },
];

/**
 * Where a request's id comes from:
 * - `seeded`: a seeded user, Zipf over 1..users with the workload's exponent (user 1 the hottest);
 * - `created`: the load's next sign-up id (lib/identity.ts), never seeded, unique per load;
 * - `none`: no id (the request is not counted per shard either).
 */
export type IdDraw = 'seeded' | 'created' | 'none';

/** Which base URL a request goes to (harness/load/types.ts LoadTargets): the app, or the CDN edge. */
export type OriginName = 'api' | 'static';

/** Statuses that count as success: single codes or inclusive ranges (k6's expectedStatuses shape). */
export type StatusSet = ReadonlyArray<number | { min: number; max: number }>;

/** What k6 and the engine counted as success before statuses were data: any answer below 400. */
export const SUCCESS: StatusSet = [{ min: 200, max: 399 }];

/** A JSON body: flat fields, each a literal or a template. */
export type BodyTemplate = Readonly<Record<string, string | number | boolean>>;

/**
 * The ledger an entry's requests belong to (chaos/ledger.ts): each request carries an id the
 * client chose ({opId}), and the driver records, per id, what the client saw, so that after the
 * load the databases can say which accepted operations were done, lost or applied twice.
 */
export type LedgerKind = 'jobs' | 'payments';

export const LEDGER_KINDS: readonly LedgerKind[] = ['jobs', 'payments'];

/** A request sent after its parent succeeded, due the moment the parent answered. */
export interface FollowUp {
  method: string;
  path: string;
  body?: BodyTemplate;
  /** send the session cookie the parent's answer set */
  withSession?: boolean;
  expect: StatusSet;
}

export interface RequestType {
  /** the name workloads mix, results key on (`endpoints`), and k6 tags samples with */
  name: string;
  origin: OriginName;
  method: string;
  path: string;
  body?: BodyTemplate;
  id: IdDraw;
  /** {asset} is drawn uniformly from these */
  assets?: readonly string[];
  /** it writes a fresh {name} for user {id}: a write check reads it back (the write log records it) */
  write?: boolean;
  /** variables computed from the others, e.g. an email from the id */
  derived?: Readonly<Record<string, string>>;
  /** the answer must set the session cookie (`sid`), else the request failed (`no_session`) */
  setsSession?: boolean;
  expect: StatusSet;
  /** sent in order, each after the one before succeeded; tagged with this entry's name */
  then?: readonly FollowUp[];
  /** its requests carry a client-chosen {opId} and are recorded in this ledger (first step only) */
  ledger?: LedgerKind;
}

// Phase 6's entries: a payment (201) and an upload answered 202 with a job id, both routed by the
// gateway to their services, each with the id the client chose ({opId}: the services take a
// client `id`, so a request whose answer was lost can still be found in the ledger). The job poll
// needs no capture from the upload's body: the job id is the {opId} the client sent, so `poll`
// uploads and then reads its own job back at once (the answer: queued, running or already done).
// Phase 7's client regions and Host names belong to the origins (LoadTargets), not to the entries.
const entries: readonly RequestType[] = [
  { name: 'read', origin: 'api', method: 'GET', path: '/api/users/{id}', id: 'seeded', expect: SUCCESS },
  { name: 'update', origin: 'api', method: 'PUT', path: '/api/users/{id}', body: { name: '{name}' }, id: 'seeded', write: true, expect: SUCCESS },
  {
    name: 'create',
    origin: 'api',
    method: 'POST',
    path: '/api/users',
    body: { id: '{id}', name: '{name}', email: '{email}' },
    id: 'created',
    write: true,
    derived: { email: 'user{id}@bench.test' },
    expect: SUCCESS,
  },
  {
    name: 'login',
    origin: 'api',
    method: 'POST',
    path: '/api/login',
    body: { id: '{id}' },
    id: 'seeded',
    setsSession: true,
    expect: SUCCESS,
    then: [{ method: 'GET', path: '/api/me', withSession: true, expect: SUCCESS }],
  },
  { name: 'static', origin: 'static', method: 'GET', path: '/static/{asset}', id: 'none', assets: staticAssets.map((a) => a.path), expect: SUCCESS },
  // phase 6 (targets/microservices/): the payment service answers 201, the uploads API 202
  { name: 'pay', origin: 'api', method: 'POST', path: '/api/payments', body: { id: '{opId}', userId: '{id}', amountCents: 500 }, id: 'seeded', ledger: 'payments', expect: [201] },
  { name: 'video', origin: 'api', method: 'POST', path: '/api/videos', body: { id: '{opId}', sizeKb: 256 }, id: 'none', ledger: 'jobs', expect: [202] },
  {
    name: 'poll',
    origin: 'api',
    method: 'POST',
    path: '/api/videos',
    body: { id: '{opId}', sizeKb: 64 },
    id: 'none',
    ledger: 'jobs',
    expect: [202],
    then: [{ method: 'GET', path: '/api/jobs/{opId}', expect: [200] }],
  },
];

/** A catalogue: its entries in a fixed order (weights are read in it, so a seed means the same everywhere). */
export interface Catalogue {
  readonly entries: readonly RequestType[];
  /** the entry called `name`, or undefined */
  get(name: string): RequestType | undefined;
}

/** Checks entries (names unique, placeholders known, statuses valid) and indexes them; throws one line on a defect. */
export function defineCatalogue(list: readonly RequestType[]): Catalogue {
  const byName = new Map<string, RequestType>();
  for (const e of list) {
    if (!/^[a-z][a-z0-9_-]*$/.test(e.name)) throw new Error(`request type name ${JSON.stringify(e.name)} must be lower-case letters, digits, - or _`);
    if (byName.has(e.name)) throw new Error(`request type ${e.name} is defined twice`);
    const uses = (t: string, where: string, vars: Set<string>): void => {
      for (const v of placeholders(t)) if (!vars.has(v)) throw new Error(`request type ${e.name}: ${where} uses {${v}}, which it does not define`);
    };
    if (e.ledger !== undefined && !LEDGER_KINDS.includes(e.ledger)) throw new Error(`request type ${e.name}: ledger ${JSON.stringify(e.ledger)} is not one of ${LEDGER_KINDS.join(', ')}`);
    const own = new Set(['id', ...(e.write ? ['name'] : []), ...(e.assets ? ['asset'] : []), ...(e.ledger ? ['opId'] : [])]);
    for (const [k, t] of Object.entries(e.derived ?? {})) uses(t, `derived ${k}`, own);
    const vars = new Set([...own, ...Object.keys(e.derived ?? {})]);
    if (e.id === 'none') vars.delete('id');
    uses(e.path, 'path', vars);
    for (const v of Object.values(e.body ?? {})) if (typeof v === 'string') uses(v, 'body', vars);
    for (const f of e.then ?? []) {
      uses(f.path, 'a follow-up path', vars);
      for (const v of Object.values(f.body ?? {})) if (typeof v === 'string') uses(v, 'a follow-up body', vars);
      if (f.withSession && !e.setsSession) throw new Error(`request type ${e.name}: a follow-up sends the session, but the entry does not set one`);
      checkStatuses(e.name, f.expect);
    }
    checkStatuses(e.name, e.expect);
    byName.set(e.name, e);
  }
  return { entries: list, get: (name) => byName.get(name) };
}

function checkStatuses(name: string, set: StatusSet): void {
  if (set.length === 0) throw new Error(`request type ${name}: expect lists no status`);
  for (const s of set) {
    const [lo, hi] = typeof s === 'number' ? [s, s] : [s.min, s.max];
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 100 && hi <= 599 && lo <= hi)) throw new Error(`request type ${name}: expected status ${JSON.stringify(s)} is not a status or range within 100..599`);
  }
}

/** The catalogue the apps answer. */
export const catalogue: Catalogue = defineCatalogue(entries);

/** The entry `name` of the built-in catalogue; throws when there is none (a typo in a drill is a defect). */
export function requestType(name: string): RequestType {
  const e = catalogue.get(name);
  if (!e) throw new Error(`no request type ${name} in the catalogue (known: ${catalogue.entries.map((x) => x.name).join(', ')})`);
  return e;
}

/** Template variables: what one request fills its templates with. */
export interface RequestVars {
  id: number;
  name: string;
  asset: string;
  /** the operation id of an entry with a ledger (operationId) */
  opId: string;
  /** derived variables, by name */
  [derived: string]: string | number;
}

/** A template turned into a function of the variables (built once; called per request). */
export type Filler = (v: RequestVars) => string;

/** The variable names a template uses. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** Compiles a template: literal text and variables, concatenated. */
export function compileTemplate(template: string): Filler {
  const lits: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    lits.push(template.slice(last, m.index ?? 0));
    names.push(m[1]);
    last = (m.index ?? 0) + m[0].length;
  }
  const tail = template.slice(last);
  // The common shapes get a closure of their own: this runs once per request at 25k req/s.
  if (names.length === 0) return () => tail;
  if (names.length === 1) {
    const [l0, n0] = [lits[0], names[0]];
    return (v) => l0 + v[n0] + tail;
  }
  return (v) => {
    let s = '';
    for (let i = 0; i < names.length; i++) s += lits[i] + v[names[i]];
    return s + tail;
  };
}

/** Compiles a JSON body template into a function giving its JSON text (fields in the template's order). */
export function compileBody(body: BodyTemplate | undefined): Filler | null {
  if (body === undefined) return null;
  const keys = Object.keys(body);
  const parts = keys.map((k, i): Filler => {
    const prefix = `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`;
    const t = body[k];
    if (typeof t !== 'string') {
      const lit = prefix + JSON.stringify(t);
      return () => lit;
    }
    const whole = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(t);
    if (whole) {
      // one placeholder: the variable's own type (a number stays a number)
      const n = whole[1];
      return (v) => prefix + JSON.stringify(v[n]);
    }
    const fill = compileTemplate(t);
    return (v) => prefix + JSON.stringify(fill(v));
  });
  if (parts.length === 0) return () => '{}';
  return (v) => {
    let s = '';
    for (let i = 0; i < parts.length; i++) s += parts[i](v);
    return s + '}';
  };
}

/** Fills an entry's path for the given variables (drills: the probe's path). */
export function pathFor(entry: RequestType, vars: Partial<RequestVars>): string {
  return compileTemplate(entry.path)(vars as RequestVars);
}

/** True when `status` is in the set. */
export function statusExpected(set: StatusSet, status: number): boolean {
  for (const s of set) if (typeof s === 'number' ? s === status : status >= s.min && status <= s.max) return true;
  return false;
}

/** The set as a 600-entry table (1 = expected): one index per answer on the engine's hot path. */
export function statusTable(set: StatusSet): Uint8Array {
  const t = new Uint8Array(600);
  for (let s = 100; s < 600; s++) if (statusExpected(set, s)) t[s] = 1;
  return t;
}

/** The variables of one request with its derived ones filled in (they may use id, name, asset). */
export function deriver(entry: RequestType): ((v: RequestVars) => void) | null {
  const d = entry.derived;
  if (!d) return null;
  const fills = Object.entries(d).map(([k, t]) => [k, compileTemplate(t)] as const);
  return (v) => {
    for (const [k, f] of fills) v[k] = f(v);
  };
}

/** The request that rewrites user `id`'s name (the `update` entry): what the drills' write probes send. */
export function userWrite(id: number): { method: 'PUT' | 'POST'; path: string } {
  const e = requestType('update');
  // a probe sends its write with a body: only these two methods carry one there (chaos/probe.ts)
  if (e.method !== 'PUT' && e.method !== 'POST') throw new Error(`the update request type's method ${e.method} is not PUT or POST`);
  return { method: e.method, path: pathFor(e, { id }) };
}

const hex = (n: number, digits: number): string => n.toString(16).padStart(digits, '0');

/**
 * The id of a load's n-th request (n >= 1) of an entry with a ledger: a UUID (version 8, RFC 9562's
 * custom layout) made of the load's seed (32 bits), its salt (24 bits) and n (up to 2^52), so
 * every generator thread and k6 compute the same id for the same request with nothing shared, and
 * two loads (another salt) never meet. The leading fields are the load's alone: operationIdRange.
 */
export function operationId(seed: number, salt: number, n: number): string {
  const s = seed >>> 0;
  const hi = Math.floor(n / 2 ** 48); // n's top 4 bits (n < 2^52)
  const lo = n - hi * 2 ** 48;
  return `${hex(s, 8)}-${hex((salt >>> 8) & 0xffff, 4)}-8${hex(salt & 0xff, 2)}${hex(hi, 1)}-8000-${hex(lo, 12)}`;
}

/** The smallest and largest operationId of a load (inclusive): its ids and nothing else sort between. */
export function operationIdRange(seed: number, salt: number): { lo: string; hi: string } {
  const prefix = operationId(seed, salt, 0).slice(0, 17);
  return { lo: `${prefix}0-8000-000000000000`, hi: `${prefix}f-8000-ffffffffffff` };
}
