import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { appFor } from '../helpers/app-helpers.ts';

/**
 * The access log (src/http/access-log.ts): no line per request beyond the sample, every failure logged, and every
 * request at or above --slow_request_ms logged at warn. The app serves a model directory that does not exist
 * (not ready), which is all /healthz and an unknown model's 404 need.
 */
async function appLogging(flags: Record<string, string>, random?: () => number) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const app = await appFor(
    [{ name: 'm', basePath: '/nonexistent/ctr-serve-access-log' }],
    { slow_request_ms: '60000', ...flags },
    { logger: { level: 'info', stream }, ...(random ? { random } : {}) },
  );
  const access = () => lines.filter((l) => l.msg === 'request completed' || String(l.msg).startsWith('slow'));
  return { app, lines, access };
}

test('rate 0: answered requests leave no line, a rejected one is still logged', async () => {
  const { app, lines, access } = await appLogging({ access_log_sample_rate: '0' });
  try {
    for (let i = 0; i < 20; i++) assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal(access().length, 0);
    assert.equal((await app.inject({ url: '/v1/models/nope' })).statusCode, 404);
    const rejected = lines.filter((l) => l.msg === 'request rejected');
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.code, 'CTR_ERR_MODEL_NOT_FOUND');
    assert.ok(!lines.some((l) => l.msg === 'incoming request'), "Fastify's per-request lines are off");
  } finally {
    await app.close();
  }
});

test('rate 1 logs every answered request once, with method, url, status and time', async () => {
  const { app, access } = await appLogging({ access_log_sample_rate: '1' });
  try {
    for (let i = 0; i < 5; i++) await app.inject({ url: '/healthz' });
    const got = access();
    assert.equal(got.length, 5);
    for (const l of got) {
      assert.deepEqual(l.req, { method: 'GET', url: '/healthz' });
      assert.deepEqual(l.res, { statusCode: 200 });
      assert.equal(typeof l.responseTime, 'number');
      assert.equal(l.level, 30);
    }
  } finally {
    await app.close();
  }
});

test('a sample rate logs the requests whose draw falls below it', async () => {
  const draws = [0.05, 0.5, 0.09, 0.95, 0.1, 0.01];
  let i = 0;
  const { app, access } = await appLogging(
    { access_log_sample_rate: '0.1' },
    () => draws[i++ % draws.length]!,
  );
  try {
    for (let k = 0; k < draws.length; k++) await app.inject({ url: '/healthz' });
    assert.equal(access().length, 3); // 0.05, 0.09 and 0.01 are < 0.1
  } finally {
    await app.close();
  }
});

test('--slow_request_ms=0: every request is at or above it and logged at warn, whatever the rate', async () => {
  const { app, access } = await appLogging({ access_log_sample_rate: '0', slow_request_ms: '0' });
  try {
    for (let k = 0; k < 3; k++) await app.inject({ url: '/healthz' });
    const got = access();
    assert.equal(got.length, 3);
    assert.ok(got.every((l) => l.level === 40));
  } finally {
    await app.close();
  }
});
