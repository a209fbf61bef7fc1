// k6 script for the static workload (loadtests/workloads.ts): the same traffic the embedded engine
// sends for it. Run: k6 run -e BENCH_API_URL=http://127.0.0.1:8000 loadtests/static.k6.ts
import { benchScript } from './lib/script.ts';

const script = benchScript('static');

export const options = script.options;
export const setup = script.setup;
export default script.iteration;
export const handleSummary = script.handleSummary;
