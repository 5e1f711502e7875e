// limits.mjs - what a refused request costs now that the request-rate
// limits are counted in the database (docs/SCALING.md): one node, one
// client address flooding POST /v1/auth/signup past CREDITD_AUTH_RATE_LIMIT
// (1 a minute, so all but the first are 429) over --connections keep-alive
// connections for --seconds; reports 429s/s. Loopback only, bounded.
//
//   node bench/limits.mjs [--seconds=5] [--connections=32] [--db=postgres://...]
//
// Without --db the node runs on a SQLite file; CREDITD_BIN picks the binary
// (compare a build whose limits are in memory).
import http from 'node:http';
import { Stack } from '../tests/e2e/harness.mjs';

const arg = (name, dflt) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? a.slice(name.length + 3) : dflt;
};
const SECONDS = Math.min(Number(arg('seconds', 5)), 60);
const CONNS = Math.min(Number(arg('connections', 32)), 256);
const DB = arg('db', null);

const serverEnv = { CREDITD_LOG: 'warn', CREDITD_AUTH_RATE_LIMIT: '1' };
if (DB) serverEnv.CREDITD_DB = DB;
const stack = new Stack({ serverEnv, sandboxEnv: { CREDITD_LOG: 'warn' } });
await stack.start();
try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
    const end = Date.now() + SECONDS * 1000;
    const statuses = {};
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONNS }, async () => {
        while (Date.now() < end) {
            const r = await stack.api('POST', '/v1/auth/signup', { agent, body: { email: 'flood@example.com', password: 'x' } });
            statuses[r.status] = (statuses[r.status] || 0) + 1;
        }
    }));
    const secs = (performance.now() - t0) / 1000;
    agent.destroy();
    console.log(JSON.stringify({ db: DB ? 'postgresql' : 'sqlite', seconds: SECONDS, connections: CONNS,
        refused_per_s: Math.round((statuses[429] || 0) / secs), statuses }));
} finally {
    await stack.stop();
}
