// The workloads: what requests a virtual user population sends, in what proportions, over which
// ids. Pure data with no imports, so both the embedded engine (harness/load) and the k6 scripts
// (loadtests/*.k6.ts) read the same definitions and generate the same traffic.

/** The request kinds every phase's reference app answers. */
export type RequestKind =
  | 'read' //    GET  /api/users/:id          (id ~ Zipf over the seeded users)
  | 'update' //  PUT  /api/users/:id          {name}
  | 'create' //  POST /api/users              {id, name, email}  (id = users + n: new, never seeded)
  | 'login' //   POST /api/login {id} then GET /api/me with the session cookie (two requests)
  | 'static'; // GET  /static/<asset>         (to the CDN edge where the phase has one)

export interface Workload {
  name: string;
  description: string;
  /** relative weights; they need not sum to 1 */
  mix: Record<RequestKind, number>;
  /** Zipf exponent of the user ids read and updated (0 = uniform; ~1 = a few hot users) */
  zipfS: number;
}

/** Static assets the app serves, with realistic sizes in bytes. */
export const staticAssets: ReadonlyArray<{ path: string; bytes: number; type: string }> = [
  { path: 'app.js', bytes: 180_000, type: 'application/javascript' },
  { path: 'app.css', bytes: 40_000, type: 'text/css' },
  { path: 'logo.png', bytes: 12_000, type: 'image/png' },
  { path: 'hero.jpg', bytes: 250_000, type: 'image/jpeg' },
  { path: 'favicon.ico', bytes: 1_500, type: 'image/x-icon' },
];

// A null prototype: every lookup by a user's name (`workloads[flag]`) finds only the workloads
// themselves, never Object.prototype's members (`--workload __proto__` or `constructor` would
// otherwise pass as a workload and fail deep inside the run).
export const workloads: Record<string, Workload> = Object.assign(Object.create(null) as Record<string, Workload>, {
  mixed: {
    name: 'mixed',
    description: 'the users API: mostly profile reads, some updates, sign-ups, logins and static assets',
    mix: { read: 70, update: 8, create: 4, login: 6, static: 12 },
    zipfS: 0.99,
  },
  'read-heavy': {
    name: 'read-heavy',
    description: 'profile reads over hot users: what a cache is for',
    mix: { read: 95, update: 3, create: 0, login: 0, static: 2 },
    zipfS: 1.1,
  },
  'write-heavy': {
    name: 'write-heavy',
    description: 'sign-ups and updates spread over every shard: what sharding is for',
    mix: { read: 30, update: 40, create: 30, login: 0, static: 0 },
    zipfS: 0.5,
  },
  static: {
    name: 'static',
    description: 'static assets only: what a CDN edge is for',
    mix: { read: 0, update: 0, create: 0, login: 0, static: 100 },
    zipfS: 0,
  },
});

/** The workload called `name` (own names only), or undefined. */
export function workloadNamed(name: string): Workload | undefined {
  return Object.prototype.hasOwnProperty.call(workloads, name) ? workloads[name] : undefined;
}

export const DEFAULT_WORKLOAD = 'mixed';
