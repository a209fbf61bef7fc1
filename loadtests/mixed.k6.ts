// k6 script for the mixed workload (loadtests/workloads.ts): the same traffic the embedded engine
// sends for it. Run: k6 run -e BENCH_API_URL=http://127.0.0.1:8000 loadtests/mixed.k6.ts
import { benchScript } from './lib/script.ts';

const script = benchScript('mixed');

export const options = script.options;
export const setup = script.setup;
export default script.iteration;
export const handleSummary = script.handleSummary;
