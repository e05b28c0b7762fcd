import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseServeFlags, readConfig } from '../../src/cli/serve-command.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { startServer } from '../helpers/serve-process.ts';

const codeOf = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

test('flags are read as --flag=value and as --flag value, with --enable_batching standing alone', () => {
  assert.deepEqual(
    parseServeFlags([
      '--rest_api_port=9000',
      '--model_name',
      'm',
      '--enable_batching',
      '--model_base_path=/x',
    ]),
    { rest_api_port: '9000', model_name: 'm', enable_batching: true, model_base_path: '/x' },
  );
  assert.deepEqual(parseServeFlags(['--enable_batching', 'false', '--workers', '2']), {
    enable_batching: 'false',
    workers: '2',
  });
  // --share_history is a boolean like --enable_batching: alone it means true, and the next flag stays a flag.
  assert.deepEqual(parseServeFlags(['--share_history', '--workers=2']), {
    share_history: true,
    workers: '2',
  });
  assert.deepEqual(parseServeFlags(['--share_history', 'false']), { share_history: 'false' });
});

test('a positional argument or a flag without its value is a usage error', async () => {
  assert.equal(await codeOf(() => parseServeFlags(['models'])), 'CTR_ERR_USAGE');
  assert.equal(await codeOf(() => parseServeFlags(['--model_name'])), 'CTR_ERR_USAGE');
  assert.equal(await codeOf(() => parseServeFlags(['--model_name', '--workers=1'])), 'CTR_ERR_USAGE');
});

test('the config comes from the flags, the model config file and the batching parameters file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-serve-flags-'));
  try {
    await writeFile(
      join(dir, 'models.json'),
      JSON.stringify({
        model_config_list: [{ name: 'a', base_path: '/m/a', model_version_policy: { all: {} } }],
      }),
    );
    await writeFile(
      join(dir, 'batching.txt'),
      'max_batch_size { value: 64 }\nbatch_timeout_micros { value: 2000 }\n',
    );
    const config = await readConfig(
      [
        '--model_config_file=models.json',
        '--enable_batching',
        '--batching_parameters_file',
        'batching.txt',
        '--rest_api_port=0',
        '--port=0',
        '--workers=3',
      ],
      { cwd: dir },
    );
    assert.deepEqual(config.models[0]!.versionPolicy, { kind: 'all' });
    assert.equal(config.batching.enabled, true);
    assert.equal(config.batching.maxBatchSize, 64);
    assert.equal(config.batching.batchTimeoutMs, 2);
    assert.equal(config.restApiPort, 0);
    assert.equal(config.workers, 3);
    assert.equal(
      await codeOf(() => readConfig(['--model_config_file=missing.json'], { cwd: dir })),
      'CTR_ERR_INVALID_CONFIG',
    );
    assert.equal(
      await codeOf(() => readConfig(['--no_such_flag=1', '--model_base_path=/x'], { cwd: dir })),
      'CTR_ERR_INVALID_CONFIG',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** LISTEN entries for the port in /proc/net/tcp (the servers here bind 127.0.0.1). */
async function listeningSocketsOn(port: number): Promise<number> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return (await readFile('/proc/net/tcp', 'utf8'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A').length;
}

test(
  'with --workers=2 both workers listen on one port (each its own SO_REUSEPORT socket on Linux) and /metrics adds up both',
  { skip: skipWithoutFixtures, timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-serve-workers-'));
    const configFile = join(dir, 'models.json');
    await writeFile(
      configFile,
      JSON.stringify({
        model_config_list: [{ name: 'broken', base_path: fixture('tfserving/bad_half_plus_two') }],
      }),
    );
    const server = startServer([
      '--rest_api_port=0',
      '--port=0',
      '--rest_api_host=127.0.0.1',
      '--workers=2',
      `--model_config_file=${configFile}`,
      '--file_system_poll_wait_seconds=0',
      '--log_level=warn',
    ]);
    try {
      const url = await server.url;
      const N = 40;
      for (let i = 0; i < N; i++) {
        // A fresh connection each time so the kernel spreads them over both workers.
        const res = await fetch(`${url}/healthz`, { headers: { connection: 'close' } });
        assert.equal(res.status, 200);
      }
      if (process.platform === 'linux') {
        // Two listening sockets on the port, not one shared by both (cluster-primary.ts): the kernel spreads new
        // connections over them instead of the first worker to wake taking most of a burst.
        assert.equal(await listeningSocketsOn(Number(new URL(url).port)), 2);
      }
      const text = await (await fetch(`${url}/metrics`)).text();
      // Each worker loaded (and failed) the model once: 2 means both registries were merged.
      assert.match(text, /^ctr_model_load_total\{model="broken",outcome="failure"\} 2$/m);
      const healthz = /^ctr_http_requests_total\{route="\/healthz",method="GET",status="200"\} (\d+)$/m.exec(
        text,
      );
      assert.equal(Number(healthz?.[1]), N);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, server.output());
    } finally {
      server.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'on SIGTERM the server finishes the request in flight, refuses new connections and exits 0',
  { skip: skipWithoutFixtures, timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-serve-stop-'));
    // A 3 s batch timeout keeps a one-row request waiting inside the server, in flight, when SIGTERM arrives.
    await writeFile(
      join(dir, 'batching.txt'),
      'max_batch_size { value: 1000 }\nbatch_timeout_micros { value: 3000000 }\n',
    );
    const server = startServer([
      '--rest_api_port=0',
      '--port=0',
      '--rest_api_host=127.0.0.1',
      '--workers=1',
      '--model_name=hpt',
      `--model_base_path=${fixture('tfserving/saved_model_half_plus_two_cpu')}`,
      '--enable_batching',
      `--batching_parameters_file=${join(dir, 'batching.txt')}`,
      '--log_level=warn',
    ]);
    try {
      const url = await server.url;
      const inFlight = fetch(`${url}/v1/models/hpt:predict`, {
        method: 'POST',
        body: '{"instances": [[1.0]]}',
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      server.child.kill('SIGTERM');
      const res = await inFlight;
      const answeredMs = performance.now();
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { predictions: [[2.5]] });
      assert.equal(await server.exited, 0, server.output());
      // The keep-alive connection of the answered request does not hold the exit (Fastify keeps them 72 s).
      assert.ok(performance.now() - answeredMs < 30_000, 'the server lingered after its last request');
      await assert.rejects(fetch(`${url}/healthz`));
    } finally {
      server.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);
