import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBatchingParametersFile } from '../../src/config/batching-parameters-file.ts';
import { parseModelConfigFile } from '../../src/config/model-config-file.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { isCtrError } from '../../src/errors/registry.ts';

// TF Serving's own example configs, copied from tensorflow/serving (commit 9d981c5c):
//   tensorflow_serving/g3doc/serving_config.md ("Model Server Config Details", "Serving Multiple Versions of a
//   Model", "Assigning String Labels to Model Versions", "Monitoring Configuration", "Batching Configuration"),
//   tensorflow_serving/servables/tensorflow/testdata/good_model_config.txt and batching_config.txt.

const SERVING_CONFIG_MD_BASIC = `model_config_list {
  config {
    name: 'my_first_model'
    base_path: '/tmp/my_first_model/'
    model_platform: 'tensorflow'
  }
  config {
    name: 'my_second_model'
    base_path: '/tmp/my_second_model/'
    model_platform: 'tensorflow'
  }
}
`;

const GOOD_MODEL_CONFIG_TXT = `model_config_list: {
  config: {
    name: "half_plus_two",
    base_path: "\${TEST_HALF_PLUS_TWO_DIR}",
    model_platform: "tensorflow"
  },
  config: {
    name: "half_plus_three",
    base_path: "\${TEST_HALF_PLUS_THREE_DIR}",
    model_platform: "tensorflow"
  }
}
`;

// serving_config.md's version policy and labels snippets, inside one ModelConfig.
const SERVING_CONFIG_MD_LABELS = `model_config_list {
  config {
    name: 'my_first_model'
    base_path: '/tmp/my_first_model/'
    model_platform: 'tensorflow'
    model_version_policy {
      specific {
        versions: 42
        versions: 43
      }
    }
    version_labels {
      key: 'stable'
      value: 42
    }
    version_labels {
      key: 'canary'
      value: 43
    }
  }
}
`;

const BATCHING_CONFIG_TXT = `max_batch_size { value: 128 }
batch_timeout_micros { value: 0 }
max_enqueued_batches { value: 1000000 }
num_batch_threads { value: 8 }
`;

test("TF Serving's example model config files load as text proto", () => {
  assert.deepEqual(parseModelConfigFile(SERVING_CONFIG_MD_BASIC, 'models.config').models, [
    {
      name: 'my_first_model',
      basePath: '/tmp/my_first_model/',
      versionPolicy: { kind: 'latest', numVersions: 1 },
    },
    {
      name: 'my_second_model',
      basePath: '/tmp/my_second_model/',
      versionPolicy: { kind: 'latest', numVersions: 1 },
    },
  ]);
  const good = parseModelConfigFile(GOOD_MODEL_CONFIG_TXT, 'good_model_config.txt').models;
  assert.deepEqual(
    good.map((m) => [m.name, m.basePath]),
    [
      ['half_plus_two', '${TEST_HALF_PLUS_TWO_DIR}'],
      ['half_plus_three', '${TEST_HALF_PLUS_THREE_DIR}'],
    ],
  );
  const [labelled] = parseModelConfigFile(SERVING_CONFIG_MD_LABELS, 'models.config').models;
  assert.deepEqual(labelled!.versionPolicy, { kind: 'specific', versions: [42, 43] });
  assert.deepEqual(labelled!.versionLabels, { stable: 42, canary: 43 });
});

test("TF Serving's example batching parameters file loads", () => {
  assert.deepEqual(parseBatchingParametersFile(BATCHING_CONFIG_TXT, 'batching_config.txt'), {
    maxBatchSize: 128,
    batchTimeoutMs: 0,
    maxEnqueuedBatches: 1000000,
    numBatchThreads: 8,
  });
});

test('the same ModelServerConfig as text proto, proto3 JSON and YAML gives the same models', () => {
  const json = JSON.stringify({
    model_config_list: {
      config: [
        {
          name: 'my_first_model',
          base_path: '/tmp/my_first_model/',
          model_platform: 'tensorflow',
          model_version_policy: { specific: { versions: ['42', '43'] } },
          version_labels: { stable: '42', canary: '43' },
        },
      ],
    },
  });
  const yaml = `model_config_list:
  - name: my_first_model
    base_path: /tmp/my_first_model/
    model_version_policy: { specific: { versions: [42, 43] } }
    version_labels: { stable: 42, canary: 43 }
`;
  const expected = parseModelConfigFile(SERVING_CONFIG_MD_LABELS, 'models.config').models;
  assert.deepEqual(parseModelConfigFile(json, 'models.json').models, expected);
  assert.deepEqual(parseModelConfigFile(yaml, 'models.yaml').models, expected);
});

test('text-proto mistakes are refused with CTR_ERR_INVALID_CONFIG naming the file and line', () => {
  const cases: [string, RegExp][] = [
    [
      'model_config_list { config { name: "a" base_path: "/a" bogus: 1 } }',
      /models\.config.*unknown field 'bogus'/,
    ],
    ['model_config_list { config { name: "a" base_path: "/a" }\n', /models\.config/],
    ['model_config_list { config { name: "a" } }', /base_path/],
    ['model_config_list { config { name: "a" base_path: "/a" model_platform: "onnx" } }', /model_platform/],
    ['custom_model_config { }', /custom_model_config/],
    [
      'model_config_list { config { name: "a" base_path: "/a" shadow_model: "b" } }',
      /shadow_model/, // ctr-serve's own keys are JSON/YAML only: the text proto is TF Serving's message
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseModelConfigFile(text, 'models.config'),
      (err: unknown) => isCtrError(err) && err.code === 'CTR_ERR_INVALID_CONFIG' && message.test(err.message),
      text,
    );
  }
});

test('a text-proto config file drives loadConfig like its JSON form', () => {
  const config = loadConfig({
    flags: {},
    modelConfigFile: { path: 'models.config', text: SERVING_CONFIG_MD_LABELS },
  });
  assert.equal(config.defaultModel, 'my_first_model');
  assert.deepEqual(config.models[0]!.versionLabels, { stable: 42, canary: 43 });
});

test('a TF Serving command line is accepted: flags without meaning here are listed to warn about, not refused', () => {
  // The flags of a typical tensorflow_model_server command line (tensorflow_serving/model_servers/main.cc names).
  const config = loadConfig({
    flags: {
      rest_api_port: '8501',
      model_name: 'm',
      model_base_path: '/models/m',
      rest_api_timeout_in_ms: '5000',
      tensorflow_intra_op_parallelism: '4',
      tensorflow_inter_op_parallelism: '4',
      grpc_max_threads: '16',
      enable_model_warmup: 'true',
      file_system_poll_wait_seconds: '30',
    },
  });
  assert.equal(config.predictTimeoutMs, 5000);
  assert.deepEqual([...config.ignoredFlags].sort(), [
    'enable_model_warmup',
    'grpc_max_threads',
    'tensorflow_inter_op_parallelism',
    'tensorflow_intra_op_parallelism',
  ]);
  assert.throws(
    () => loadConfig({ flags: { model_base_path: '/m', grpc_max_threads: 'many' } }),
    /grpc_max_threads/,
  );
  assert.throws(
    () =>
      loadConfig({ flags: { model_base_path: '/m', rest_api_timeout_in_ms: '5', predict_timeout_ms: '6' } }),
    /rest_api_timeout_in_ms/,
  );
});

// serving_config.md, "Monitoring Configuration".
const MONITORING_CONFIG_MD = `prometheus_config {
  enable: true,
  path: "/monitoring/prometheus/metrics"
}
`;

test("TF Serving's example monitoring config loads; its path serves the metrics", () => {
  const input = (text: string) => ({
    flags: { model_base_path: '/m' },
    monitoringConfigFile: { path: 'monitoring.config', text },
  });
  assert.equal(loadConfig(input(MONITORING_CONFIG_MD)).prometheusPath, '/monitoring/prometheus/metrics');
  assert.equal(loadConfig(input('prometheus_config { enable: true path: "/m2" }')).prometheusPath, '/m2');
  assert.equal(
    loadConfig(input('{"prometheus_config": {"enable": true, "path": "/m3"}}')).prometheusPath,
    '/m3',
  );
  assert.equal(loadConfig(input('prometheus_config { enable: false }')).prometheusPath, undefined);
  assert.throws(() => loadConfig(input('prometheus_config { enabled: true }')), /unknown field 'enabled'/);
});
