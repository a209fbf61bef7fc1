// What the engine needs from an HTTP/1.1 client: one request per connection at a time (no
// pipelining: it would hide latency behind head-of-line blocking), connections opened lazily up
// to a cap, and a way to abort one request (its connection is closed, as the answer may still come).

/** The wire form of a request, built by the transport that sends it; opaque to the engine. */
export type PreparedRequest = { readonly __prepared: unique symbol };

/** The engine's side of one request: the transport calls exactly one of onResponse/onFailure. */
export interface ResponseHandler {
  /** read the `sid` cookie of the answer (a login) */
  readonly wantSid: boolean;
  /** the transport's slot for this request while it is on the wire (the engine never reads it) */
  link: unknown;
  /** a complete answer (any status >= 200); region: the serving region it named, when the
   *  transport was asked to read it (else null) */
  onResponse(status: number, sid: string | null, region: string | null): void;
  /** no complete answer: the error's `code` names the failure (see errorKind) */
  onFailure(err: Error): void;
}

/** An HTTP/1.1 client for one origin. Calls are not reentrant: handlers never run inside send(). */
export interface Transport {
  /** most connections it opens */
  readonly connections: number;
  /** Builds a request once (a static asset's is sent many times). body: JSON, or null for none. */
  prepare(method: string, path: string, body: string | null, cookie: string | null): PreparedRequest;
  /** Sends on an idle connection, or a new one; the engine keeps at most `connections` on the wire. */
  send(req: PreparedRequest, handler: ResponseHandler): void;
  /** Gives up on a request on the wire: its connection is closed and its handler not called. */
  abort(handler: ResponseHandler, err: Error): void;
  /**
   * Opens up to n connections ahead of the schedule without sending a request (the server's
   * request counts stay exact). Failures are ignored. Resolves with how many are open.
   */
  warmUp(n: number, timeoutMs: number): Promise<number>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Which HTTP client the engine uses: its own on net.Socket, or undici (the fallback). */
export type TransportKind = 'socket' | 'undici';
