/**
 * The V8 flags the API runs with in production: `npm start` passes them (a test holds its script to
 * this list), the build writes the code cache under them (V8 refuses a cache made under other flags,
 * and the server would compile the bundle at every start), and the servers the benches start (the
 * API and E0) run with them too; the peers keep only the first (bench/peers.ts).
 *
 * --no-memory-reducer: V8's memory reducer runs a heap-shrinking full GC once a server has been idle
 * for some seconds, and on this machine a bare server measured after one answered 20 to 30% fewer
 * requests per second for the rest of its life: that is how E0 fell about two minutes into a run,
 * whichever class had just been measured.
 *
 * --max-semi-space-size=8: a young generation of at most 8 MB per semi-space, half of V8's default
 * here. Under POST load the API's peak RSS came to 188-195 MB with it against 217-240 MB without,
 * for 4-6% fewer POSTs per second.
 *
 * --heap-growing-percent=50: the old generation may grow by half its live size before the next full
 * collection, where V8 lets it grow to several times that. Under 20 s of POST load the old generation
 * went from 23 to 91 MB without one, and the peak RSS to 214-235 MB; with the flag, 166-172 MB for as
 * many POSTs per second (three alternating pairs of rounds, 2026-12-04).
 */
export const SERVER_NODE_FLAGS = ['--no-memory-reducer', '--max-semi-space-size=8', '--heap-growing-percent=50'];
