// Each service's tables, created by the service itself at start (IF NOT EXISTS: a restart keeps
// its data). Ids are chosen by the client (UUIDs) so that a request whose answer was lost can
// still be found in the ledger: Jepsen's "indeterminate" operations need a name.

/** The payment service's database: payments and their outbox, written in one transaction. */
export const PAYMENT_SCHEMA = `
CREATE TABLE IF NOT EXISTS payments (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS payment_outbox (
  id bigserial PRIMARY KEY,
  payment_id uuid NOT NULL REFERENCES payments(id),
  routing_key text NOT NULL,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS payment_outbox_unsent ON payment_outbox (id) WHERE sent_at IS NULL;
`;

/** The notification service's database: one row per (payment, delivery): duplicates stay visible. */
export const NOTIFICATION_SCHEMA = `
CREATE TABLE IF NOT EXISTS notifications (
  id bigserial PRIMARY KEY,
  payment_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS notifications_payment ON notifications (payment_id);
`;

/**
 * The jobs database (uploads API and workers): jobs with their status, their outbox, and one row
 * per side effect applied (no unique key on purpose: a duplicate is a second row, which the
 * ledger counts; idempotence is the worker's job, not the schema's).
 */
export const JOBS_SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id uuid PRIMARY KEY,
  size_kb integer NOT NULL CHECK (size_kb >= 0),
  poison boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead-lettered')),
  accepted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  done_at timestamptz,
  attempts integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_outbox (
  id bigserial PRIMARY KEY,
  job_id uuid NOT NULL REFERENCES jobs(id),
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS job_outbox_unsent ON job_outbox (id) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS job_effects (
  id bigserial PRIMARY KEY,
  job_id uuid NOT NULL,
  worker text NOT NULL,
  digest text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS job_effects_job ON job_effects (job_id);
`;
