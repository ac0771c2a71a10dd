/**
 * V8 flags the `bursar` executable runs with. Its shebang and `npm start` carry the same ones (a
 * test keeps the three equal), and the gateway benchmark starts its server with them.
 *
 * A young generation of 2 MB per semi-space instead of V8's 16: a gateway holding many streams
 * allocates steadily, and the default lets the young generation alone keep 32 MB of
 * resident memory. The smaller one keeps a server with 1,000 open streams near 137 MB instead
 * of about 160 and collects more often but for shorter pauses (about 0.45 ms instead of 1.4);
 * latency and throughput stay within run-to-run noise (docs/benchmarks.md).
 *
 * WebAssembly compiled by the baseline compiler only (`--liftoff-only`): the one module the
 * server runs is undici's HTTP parser, whose state machine is a single huge function. After
 * a few dozen responses V8 recompiles it with its optimising compiler, which takes about 35 MB
 * of working memory for a moment; a fresh server opening 1,000 streams peaked near 160 MB
 * because of it. Parsing the providers' answers with the baseline code measured the same
 * latency and throughput. Override with `node "$(command -v bursar)" serve` and flags of your own.
 */
export const nodeFlags: readonly string[] = ['--max-semi-space-size=2', '--liftoff-only'];
