import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseBatchingParametersFile } from '../../src/config/batching-parameters-file.ts';
import { parseModelConfigFile } from '../../src/config/model-config-file.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { isCtrError } from '../../src/errors/registry.ts';

const invalid = (fn: () => unknown) =>
  assert.throws(fn, (err) => isCtrError(err) && err.code === 'CTR_ERR_INVALID_CONFIG');

test('with no flags it serves every directory under models/, the student by default with the teacher as shadow', () => {
  const config = loadConfig({
    flags: {},
    defaultModelsDir: { path: '/repo/models', names: ['ctr-teacher', 'ctr-student'] },
    cpuCount: 2,
  });
  assert.equal(config.restApiPort, 8501);
  assert.equal(config.restApiHost, '0.0.0.0');
  assert.equal(config.defaultModel, 'ctr-student');
  assert.equal(config.shadowModel, 'ctr-teacher');
  assert.equal(config.shadowSampleRate, 0.05);
  assert.equal(config.fileSystemPollWaitSeconds, 1);
  assert.equal(config.maxBodyBytes, 8 * 1024 * 1024);
  assert.equal(config.maxCandidatesPerRequest, 100000);
  assert.equal(config.connectionTimeoutMs, 30000);
  assert.equal(config.workers, 2);
  assert.deepEqual(
    config.models.map((m) => [m.name, m.basePath, m.versionPolicy.kind, m.shadowModel]),
    [
      ['ctr-student', '/repo/models/ctr-student', 'latest', 'ctr-teacher'],
      ['ctr-teacher', '/repo/models/ctr-teacher', 'latest', undefined],
    ],
  );
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.models[0]) && Object.isFrozen(config.batching));
});

test('--model_name and --model_base_path serve one model with the latest version', () => {
  const config = loadConfig({
    flags: { model_name: 'half', model_base_path: '/m/half', rest_api_port: '9000', enable_batching: true },
  });
  assert.deepEqual(config.models, [
    { name: 'half', basePath: '/m/half', versionPolicy: { kind: 'latest', numVersions: 1 } },
  ]);
  assert.equal(config.defaultModel, 'half');
  assert.equal(config.restApiPort, 9000);
  assert.equal(config.batching.enabled, true);
  assert.equal(config.shadowModel, undefined);
});

test('flag values out of range, unknown flags and a missing model are refused', () => {
  invalid(() => loadConfig({ flags: { model_base_path: '/m', rest_api_port: '70000' } }));
  invalid(() => loadConfig({ flags: { model_base_path: '/m', shadow_sample_rate: '1.5' } }));
  invalid(() => loadConfig({ flags: { model_base_path: '/m', workers: '1.5' } }));
  invalid(() => loadConfig({ flags: { model_base_path: '/m', enable_batching: 'maybe' } }));
  invalid(() => loadConfig({ flags: { model_base_path: '/m', no_such_flag: '1' } }));
  invalid(() => loadConfig({ flags: { model_base_path: '/m', shadow_model: 'nope' } }));
  invalid(() => loadConfig({ flags: {} }));
});

const modelConfig = JSON.stringify({
  default_model: 'b',
  model_config_list: [
    { name: 'a', base_path: '/models/a', model_version_policy: { all: {} } },
    {
      name: 'b',
      base_path: '/models/b',
      model_platform: 'tensorflow',
      model_version_policy: { specific: { versions: ['3', 1] } },
      shadow_model: 'c',
      shadow_sample_rate: 0.5,
    },
    { name: 'c', base_path: '/models/c', model_version_policy: { latest: { num_versions: 2 } } },
  ],
});

test("TF Serving's ModelServerConfig JSON gives each model its policy, shadow and the default model", () => {
  const config = loadConfig({ flags: {}, modelConfigFile: { path: 'models.json', text: modelConfig } });
  assert.equal(config.defaultModel, 'b');
  assert.deepEqual(
    config.models.map((m) => m.versionPolicy),
    [{ kind: 'all' }, { kind: 'specific', versions: [1, 3] }, { kind: 'latest', numVersions: 2 }],
  );
  assert.equal(config.models[1]!.shadowModel, 'c');
  assert.equal(config.models[1]!.shadowSampleRate, 0.5);
});

test('the model config file may be YAML', () => {
  const yaml = `model_config_list:\n  - name: a\n    base_path: /models/a\n    model_version_policy:\n      latest:\n        num_versions: 3\n`;
  const { models } = parseModelConfigFile(yaml, 'models.yaml');
  assert.deepEqual(models, [
    { name: 'a', basePath: '/models/a', versionPolicy: { kind: 'latest', numVersions: 3 } },
  ]);
});

test('bad model config files are refused with the key at fault', () => {
  const bad = [
    'model_config_list { config { name: "a" } }',
    '{"model_config_list": []}',
    '{"model_config_list": [{"name": "a"}]}',
    '{"model_config_list": [{"name": "a", "base_path": "/a", "model_version_policy": {"newest": {}}}]}',
    '{"model_config_list": [{"name": "a", "base_path": "/a", "model_version_policy": {"specific": {"versions": [0]}}}]}',
    '{"model_config_list": [{"name": "a", "base_path": "/a", "extra": 1}]}',
    '{"model_config_list": [{"name": "a", "base_path": "/a", "shadow_sample_rate": 2}]}',
  ];
  for (const text of bad) invalid(() => parseModelConfigFile(text, 'models.json'));
  const dup = '{"model_config_list": [{"name": "a", "base_path": "/a"}, {"name": "a", "base_path": "/b"}]}';
  invalid(() => loadConfig({ flags: {}, modelConfigFile: { path: 'm.json', text: dup } }));
  const self = '{"model_config_list": [{"name": "a", "base_path": "/a", "shadow_model": "a"}]}';
  invalid(() => loadConfig({ flags: {}, modelConfigFile: { path: 'm.json', text: self } }));
});

test('batching parameters are read from text proto or JSON, with microseconds converted to milliseconds', () => {
  const text = `# TF Serving's example\nmax_batch_size { value: 128 }\nbatch_timeout_micros { value: 2000 }\nmax_enqueued_batches { value: 100 }\nnum_batch_threads { value: 2 }\npad_variable_length_inputs: true\n`;
  const expected = { maxBatchSize: 128, batchTimeoutMs: 2, maxEnqueuedBatches: 100, numBatchThreads: 2 };
  assert.deepEqual(parseBatchingParametersFile(text), expected);
  // Int64Value fields are messages in session_bundle_config.proto: TF Serving's parser refuses a bare scalar.
  invalid(() => parseBatchingParametersFile('max_batch_size: 128, batch_timeout_micros: 2000'));
  assert.deepEqual(
    parseBatchingParametersFile('max_batch_size: { value: 128 }, batch_timeout_micros <value: 2000>'),
    {
      maxBatchSize: 128,
      batchTimeoutMs: 2,
    },
  );
  assert.deepEqual(
    parseBatchingParametersFile(
      '{"max_batch_size": {"value": 128}, "batch_timeout_micros": 2000, "max_enqueued_batches": 100, "num_batch_threads": 2}',
    ),
    expected,
  );
  const config = loadConfig({
    flags: { model_base_path: '/m', enable_batching: 'true' },
    batchingParametersFile: { path: 'b.txt', text },
  });
  assert.deepEqual(config.batching, { enabled: true, ...expected });
});

test('bad batching parameters are refused', () => {
  for (const text of [
    'max_batch_size { value: 0 }',
    'max_batch_size { value: -1 }',
    'bogus: 3',
    'max_batch_size {',
    '{"max_batch_size": "x"}',
  ]) {
    invalid(() => parseBatchingParametersFile(text));
  }
});

test('the config parsers fail only with CTR_ERR_INVALID_CONFIG on arbitrary text (fuzz)', () => {
  const onlyCoded = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(isCtrError(err) && err.code === 'CTR_ERR_INVALID_CONFIG', String(err));
    }
  };
  const text = fc.oneof(
    fc.string(),
    fc.json(),
    fc.stringMatching(/^([a-z_]{1,25}\s*(:\s*-?\d{1,6}|\{\s*value\s*:\s*-?\d{1,6}\s*\})\s*){0,5}$/),
  );
  fc.assert(
    fc.property(text, (t) => {
      onlyCoded(() => parseBatchingParametersFile(t));
      onlyCoded(() => parseModelConfigFile(t, 'fuzz.json'));
    }),
    { numRuns: 500 },
  );
});

test('batching is on by default with 1024 rows and no timeout, admission bounded at 100 ms, history shared', () => {
  const config = loadConfig({ flags: { model_base_path: '/m' } });
  assert.equal(config.batching.enabled, true);
  assert.equal(config.batching.maxBatchSize, 1024);
  assert.equal(config.batching.batchTimeoutMs, 0);
  assert.equal(config.maxQueueDelayMs, 100);
  assert.equal(config.shareHistory, true);
  const tfServingLike = loadConfig({
    flags: {
      model_base_path: '/m',
      enable_batching: 'false',
      max_queue_delay_ms: '0',
      share_history: 'false',
    },
  });
  assert.equal(tfServingLike.batching.enabled, false);
  assert.equal(tfServingLike.maxQueueDelayMs, 0);
  assert.equal(tfServingLike.shareHistory, false);
  assert.equal(
    loadConfig({ flags: { model_base_path: '/m', max_queue_delay_ms: '7.5' } }).maxQueueDelayMs,
    7.5,
  );
  invalid(() => loadConfig({ flags: { model_base_path: '/m', max_queue_delay_ms: '-1' } }));
  invalid(() => loadConfig({ flags: { model_base_path: '/m', share_history: 'sometimes' } }));
});
