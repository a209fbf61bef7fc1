// k6 script for the microservices workload (phase 6) (loadtests/workloads.ts): the same traffic the embedded engine
// sends for it. Run: k6 run -e BENCH_API_URL=http://127.0.0.1:8000 loadtests/microservices.k6.ts
import { benchScript } from './lib/script.ts';

const script = benchScript('microservices');

export const options = script.options;
export const setup = script.setup;
export default script.iteration;
export const handleSummary = script.handleSummary;
