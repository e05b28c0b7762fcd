import Fastify from 'fastify';

/**
 * The HTTP ceiling for the end-to-end benchmark: Fastify on the same loopback, parsing the same JSON body and
 * answering a constant, with no model behind it. Run as `node --import tsx bench/noop-server.ts PORT`; prints
 * "ready" once listening and stops on SIGTERM.
 */
const port = Number(process.argv[2]);
const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
app.post('/noop', async (request) => ({ ok: typeof request.body === 'object' }));
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
