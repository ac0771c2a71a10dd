/**
 * The mock provider for bench/gateway.ts (the built package in dist/), answering streamed calls
 * in 30 chunks of 60 tokens by default, so a gateway that passes no `x-mock-*` header (Portkey)
 * streams the same answer as the others. Plain calls are capped by their max_tokens as ever.
 * Usage: node bench/mock-server.mjs <port>; prints a line with "listening" once it is.
 */
import { runMockUpstream } from '../dist/mock-upstream/index.js';

await runMockUpstream({ port: Number(process.argv[2]), chunks: 30, outputTokens: 60 });
