// The ceiling for Node on this machine: the same Fastify version as tollgate, one GET route that
// returns a small JSON of about the size of GET /auth/me's answer, no auth, no logger.
// PORT (required), WORKERS (default 1: node:cluster workers sharing the port when > 1).
// It holds the nextTick entry that the tollgate command holds (src/keep-tick-maps.ts, from the
// build the bench makes), so the ceiling is Node at its best and not a process that fell slow.
import '../dist/src/keep-tick-maps.js';
import cluster from 'node:cluster';
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS ?? '1');

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const body = {
    user: { id: '0193a6f2-6c1e-7b7a-9d3e-2f1c0a9b8e7d', username: 'bench_user', created_at: '2025-01-01T00:00:00.000Z' },
    session: { id: '0193a6f2-6c1e-7b7a-9d3e-2f1c0a9b8e7e', created_at: '2025-01-01T00:00:00.000Z', expires_at: '2025-01-31T00:00:00.000Z' },
  };
  const app = Fastify({ logger: false });
  app.get('/', async () => body);
  await app.listen({ port, host: '127.0.0.1' });
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
