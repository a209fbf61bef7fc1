// The bundle's entry (see bundle.ts): starts the service BENCH_MS_CONFIG describes. A start-up
// failure is one line on stderr and exit code 3 (environment), like the app.
import { main } from './main.ts';

main().catch((e: Error) => {
  process.stderr.write(`microservice: ${e.message}\n`);
  process.exit(3);
});
