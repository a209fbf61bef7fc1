// k6's view of a failed request -> the error kinds the embedded engine reports (engine.ts
// errorKind()), so results.json means the same whatever the driver. k6's codes are in its
// lib/netext/httpext/error_codes.go and the docs' javascript-api/error-codes page.

/** The errorKinds key for a failed request: k6's error_code tag (may be absent) and its status tag. */
export function errorKindOf(errorCode: number | null, status: number): string {
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  if (errorCode === null) return 'other';
  if (errorCode >= 1500 && errorCode < 1600) return 'http_5xx';
  if (errorCode >= 1400 && errorCode < 1500) return 'http_4xx';
  switch (errorCode) {
    case 1050: // request timeout
    case 1211: // dial timeout
      return 'timeout';
    case 1212: // connection refused
      return 'connection_refused';
    case 1201: // broken pipe
    case 1220: // reset by peer
      return 'connection_reset';
    case 1210: // dial error
    case 1213: // dial error with an errno k6 does not name
      return 'unreachable';
    default:
      // 1100-1199 (DNS, blocked host) cannot happen on loopback addresses; the rest is rare
      return errorCode >= 1100 && errorCode < 1200 ? 'unreachable' : 'other';
  }
}

/** The engine's kind for a login answered without a session cookie (k6: the session check failed). */
export const NO_SESSION = 'no_session';
