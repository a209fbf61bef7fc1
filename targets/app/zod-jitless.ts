// Imported first by the process entry (server.ts), before any module builds a zod schema: zod
// decides at a schema's construction whether it will generate code for it (its JIT). The app
// parses its config once per process, where generating that code costs more than it saves
// (~5 ms of CPU at every start, 25 ms on a 0.2-CPU host). Process-wide: only the app's entry imports it.
import * as z from 'zod';

z.config({ jitless: true });
