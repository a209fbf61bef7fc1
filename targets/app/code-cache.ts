// The signal between a bundled entry and the bundle's launcher (bundle.ts LAUNCHER): an entry
// emits it on `process` once its start is done, and the launcher writes V8's code cache then, so
// that the cache holds what a start runs (see bundle.ts). Its own file: the app imports it, and
// bundle.ts (which imports esbuild) must stay out of the app's bundle.
export const CODE_CACHE_EVENT = 'bench:started';
