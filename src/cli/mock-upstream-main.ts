#!/usr/bin/env node
/** Runs the mock provider alone: `node mock-upstream-main.js [port]` (benchmarks use it as a child). */
import { runMockUpstream } from '../mock-upstream/index.js';

await runMockUpstream({ port: Number(process.argv[2] ?? 9100) });
