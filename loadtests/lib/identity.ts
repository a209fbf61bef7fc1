// Sign-up identities unique per load. Seeded users are 1..users; a load's n-th sign-up (n = 1, 2,
// ...) gets the id users + salt * CREATES_PER_SALT + n and the email user<id>@bench.test. Without a
// salt every load on one deployment restarted at users + 1 and a second load's sign-ups all got
// 409. Each load picks a fresh salt and records it (results.json `load.salt`), so a load is
// reproducible from its seed and its salt. Pure, no imports: the engine (Node) and the k6 scripts
// (k6's VM) share it.

/** Salts are integers in [0, SALT_LIMIT): 24 bits, so `od -An -N3 -tu4 /dev/urandom` makes one. */
export const SALT_LIMIT = 2 ** 24;

/**
 * Sign-ups one salt has room for before its ids would run into the next salt's. 2^28 x 2^24 = 2^52:
 * with any user count below 2^52 the ids stay exact in a double (and in Postgres bigint).
 */
export const CREATES_PER_SALT = 2 ** 28;

/** The id of a load's n-th sign-up (n >= 1). */
export function createdUserId(users: number, salt: number, n: number): number {
  return users + salt * CREATES_PER_SALT + n;
}

/** A fresh salt for a load, never 0 (0 is the unsalted id range of loads before salts existed). */
export function newSalt(random: () => number = Math.random): number {
  return 1 + Math.floor(random() * (SALT_LIMIT - 1));
}

/** Parses a salt given by a person (BENCH_SALT, --salt); returns it or a phrase saying what is wrong. */
export function parseSalt(raw: string): number | string {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0 || n >= SALT_LIMIT) return `must be an integer in 0..${SALT_LIMIT - 1}, got ${raw}`;
  return n;
}
