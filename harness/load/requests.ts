// The engine's side of the request catalogue (loadtests/catalogue.ts): each entry compiled once,
// before the load, into what the hot path needs (template functions, a status table, a prebuilt
// wire form when the request can only take a few shapes). The engine never names a request type:
// it draws the variables an entry asks for and builds the entry's steps with the functions here.
import { compileBody, compileTemplate, deriver, LEDGER_KINDS, placeholders, statusTable, type Catalogue, type Filler, type OriginName, type RequestType, type RequestVars } from '../../loadtests/catalogue.ts';
import { SocketTransport } from './transport/socket.ts';
import type { PreparedRequest, Transport } from './transport/types.ts';

/** One HTTP request of a type: its first, or a follow-up. */
export interface CompiledStep {
  readonly method: string;
  readonly path: Filler;
  readonly body: Filler | null;
  /** send the session cookie the first step's answer set */
  readonly withSession: boolean;
  /** statuses that count as success: table[status] === 1 */
  readonly expected: Uint8Array;
}

/** A catalogue entry, compiled. */
export interface CompiledType {
  readonly name: string;
  /** its index in the engine's per-type arrays (the catalogue's order) */
  readonly index: number;
  readonly origin: OriginName;
  readonly draw: RequestType['id'];
  readonly assets: readonly string[] | null;
  readonly write: boolean;
  readonly setsSession: boolean;
  readonly derive: ((v: RequestVars) => void) | null;
  readonly steps: readonly CompiledStep[];
  /** the index of its ledger in LEDGER_KINDS; -1: none (its requests carry no {opId}, nothing is recorded) */
  readonly ledger: number;
  /** true when the first step depends on nothing but {asset}: its wire forms are built once per asset */
  readonly fixedByAsset: boolean;
}

function compileStep(method: string, path: string, body: RequestType['body'], withSession: boolean, expect: RequestType['expect']): CompiledStep {
  return { method, path: compileTemplate(path), body: compileBody(body), withSession, expected: statusTable(expect) };
}

/** Compiles every entry of a catalogue, in its order. */
export function compileCatalogue(cat: Catalogue): CompiledType[] {
  return cat.entries.map((e, index) => ({
    name: e.name,
    index,
    origin: e.origin,
    draw: e.id,
    assets: e.assets ?? null,
    write: e.write === true,
    setsSession: e.setsSession === true,
    derive: deriver(e),
    steps: [compileStep(e.method, e.path, e.body, false, e.expect), ...(e.then ?? []).map((f) => compileStep(f.method, f.path, f.body, f.withSession === true, f.expect))],
    ledger: e.ledger === undefined ? -1 : LEDGER_KINDS.indexOf(e.ledger),
    fixedByAsset: e.body === undefined && placeholders(e.path).every((p) => p === 'asset'),
  }));
}

/**
 * Builds requests of compiled types for one transport. One scratch variables object serves every
 * request (templates are filled at once, never kept), so building allocates only the strings.
 */
export class RequestBuilder {
  private readonly vars: RequestVars = { id: -1, name: '', asset: '', opId: '' };
  /** per type, per asset: the first step's wire form, when it is fixed by the asset */
  private readonly prebuilt: Array<PreparedRequest[] | null>;

  constructor(
    readonly types: readonly CompiledType[],
    private readonly transportOf: (t: CompiledType) => Transport,
  ) {
    this.prebuilt = types.map((t) => {
      if (!t.fixedByAsset) return null;
      const tr = transportOf(t);
      const s = t.steps[0];
      const forAsset = (asset: string): PreparedRequest => {
        this.fill(t, -1, null, asset, '');
        const path = s.path(this.vars);
        // the socket transport sends a prebuilt Buffer without copying the string each time
        return tr instanceof SocketTransport ? tr.prebuilt(s.method, path) : tr.prepare(s.method, path, null, null);
      };
      return t.assets ? t.assets.map(forAsset) : [forAsset('')];
    });
  }

  /**
   * The wire form of step `step` of type `t` for these variables (id -1: none; name null: none;
   * asset -1: none); `session`: the cookie value a follow-up sends; `opId`: the operation id of a
   * type with a ledger ('' for the others).
   */
  build(t: CompiledType, step: number, id: number, name: string | null, asset: number, session: string | null, opId = ''): PreparedRequest {
    const pre = step === 0 ? this.prebuilt[t.index] : null;
    if (pre) return pre[asset < 0 ? 0 : asset];
    const s = t.steps[step];
    this.fill(t, id, name, asset >= 0 && t.assets ? t.assets[asset] : '', opId);
    return this.transportOf(t).prepare(s.method, s.path(this.vars), s.body ? s.body(this.vars) : null, s.withSession && session !== null ? `sid=${session}` : null);
  }

  private fill(t: CompiledType, id: number, name: string | null, asset: string, opId: string): void {
    const v = this.vars;
    v.id = id;
    v.opId = opId;
    v.name = name ?? '';
    v.asset = asset;
    if (t.derive) t.derive(v);
  }
}
