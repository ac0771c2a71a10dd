/**
 * V8 flags the `bursar` executable runs with. Its shebang and `npm start` carry the same ones (a
 * test keeps the three equal), and the gateway benchmark starts its server with them.
 *
 * A young generation of 4 MB per semi-space instead of V8's 16: a gateway holding many streams
 * allocates steadily, and the default lets the young generation alone keep 32 MB of resident
 * memory. 4 MB keeps a server with 1,000 open streams at 137–146 MB (docs/benchmarks.md). At 2
 * MB it used 3–8 MB less, but with 64 calls in flight the collector promoted so many of their
 * objects that the server answered about a fifth fewer calls per second.
 *
 * WebAssembly compiled by the baseline compiler only (`--liftoff-only`): the one module the
 * server runs is undici's HTTP parser, whose state machine is a single huge function. After
 * a few dozen responses V8 recompiles it with its optimising compiler, which takes about 35 MB
 * of working memory for a moment; a fresh server opening 1,000 streams peaked near 160 MB
 * because of it. Parsing the providers' answers with the baseline code measured the same
 * latency and throughput.
 *
 * The old generation collected once it grows by a quarter over what the last full collection
 * kept (`--heap-growing-percent=25`; V8 never collects before 8 MB of growth anyway). V8's own
 * factor, up to 4× on a machine with memory to spare, is set from the idle heap at start: a
 * fresh server opening 1,000 streams then let 30 MB of dead objects pile up before its first full
 * collection, and peaked anywhere from 124 to 151 MB over runs; with this flag 116–122 MB. It
 * costs more full collections under load: about 7 µs of collector pause per plain call and
 * 11–14 µs per streamed call at 64 connections (from `--trace-gc`), a few percent of the
 * server's CPU per call.
 *
 * Override with `node "$(command -v bursar)" serve` and flags of your own.
 */
export const nodeFlags: readonly string[] = ['--max-semi-space-size=4', '--liftoff-only', '--heap-growing-percent=25'];
