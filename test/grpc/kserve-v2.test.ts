import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import type { HostTensor } from '../../src/graph/model.ts';
import type { GrpcServer } from '../../src/grpc/grpc-server.ts';
import { appFor } from '../helpers/app-helpers.ts';
import { assertClose, fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcError, grpcFor, type GrpcClients } from '../helpers/grpc-client.ts';
import { POSITIVE_CASES } from '../helpers/known-outputs.ts';

/**
 * The V2 spec's JSON schema, written from github.com/kserve/open-inference-protocol
 * specification/protocol/open_inference_rest.yaml (components.schemas: metadata_server_response,
 * metadata_model_response, metadata_tensor, inference_response, response_output, tensor_data and the
 * *_error_response objects) and inference_rest.md (the health and model-ready response objects).
 */
const tensorData = {
  $id: 'tensor_data',
  type: 'array',
  items: { anyOf: [{ $ref: 'tensor_data' }, { type: ['number', 'string', 'boolean'] }] },
};
const metadataTensor = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    datatype: { type: 'string' },
    shape: { type: 'array', items: { type: 'integer' } },
  },
  required: ['name', 'datatype', 'shape'],
};
const SCHEMAS = {
  server_metadata: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      extensions: { type: 'array', items: { type: 'string' } },
    },
    required: ['name', 'version', 'extensions'],
  },
  model_metadata: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      versions: { type: 'array', items: { type: 'string' } },
      platform: { type: 'string' },
      inputs: { type: 'array', items: metadataTensor },
      outputs: { type: 'array', items: metadataTensor },
      properties: { type: 'object', additionalProperties: { type: 'string' } },
    },
    required: ['name', 'platform'],
  },
  inference_response: {
    type: 'object',
    properties: {
      model_name: { type: 'string' },
      model_version: { type: 'string' },
      id: { type: 'string' },
      parameters: { type: 'object' },
      outputs: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            shape: { type: 'array', items: { type: 'integer' } },
            datatype: { type: 'string' },
            parameters: { type: 'object' },
            data: { $ref: 'tensor_data' },
          },
          required: ['name', 'shape', 'datatype', 'data'],
        },
      },
    },
    required: ['model_name', 'outputs'],
  },
  error_response: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
  live: { type: 'object', properties: { live: { type: 'boolean' } }, required: ['live'] },
  ready: { type: 'object', properties: { ready: { type: 'boolean' } }, required: ['ready'] },
  model_ready: {
    type: 'object',
    properties: { name: { type: 'string' }, ready: { type: 'boolean' } },
    required: ['name', 'ready'],
  },
};
const ajv = new Ajv({ allErrors: true });
ajv.addSchema(tensorData);
function validate(kind: keyof typeof SCHEMAS, body: unknown): void {
  const check = ajv.compile(SCHEMAS[kind]);
  assert.ok(check(body), `${kind}: ${ajv.errorsText(check.errors)} in ${JSON.stringify(body)}`);
}

// V2 datatypes of the TensorFlow dtypes the fixtures use (inference_rest.md, "Tensor Data Types").
const V2: Record<string, string> = { DT_FLOAT: 'FP32', DT_INT32: 'INT32', DT_INT64: 'INT64' };
const GRPC_CONTENTS: Record<string, string> = {
  FP32: 'fp32_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
};

const flat = (t: HostTensor) => Array.from(t.values as ArrayLike<number | bigint>, Number);
// The V2 cases: every fixture case on its default signature (V2 has no signatures).
const CASES = POSITIVE_CASES.filter((c) => !c.signature && !c.path.endsWith('00000124'));
const nameOf = (path: string) => path.replace(/[^\w]+/g, '_');

describe(
  'KServe V2 REST and gRPC answer the same numbers, in the shapes the V2 spec gives',
  { skip: skipWithoutFixtures },
  () => {
    let app: FastifyInstance;
    let grpc: { server: GrpcServer; clients: GrpcClients };

    before(async () => {
      const { mkdtemp, mkdir, symlink } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const root = await mkdtemp(join(tmpdir(), 'ctr-v2-'));
      const models = [];
      for (const path of new Set(CASES.map((c) => c.path))) {
        const base = join(root, nameOf(path));
        await mkdir(join(base, path.endsWith('.pb') ? '1' : ''), { recursive: true });
        if (path.endsWith('.pb')) await symlink(fixture(path), join(base, '1', 'frozen_graph.pb'));
        else await symlink(fixture(path), join(base, '1'));
        models.push({ name: nameOf(path), basePath: base });
      }
      app = await appFor(models);
      grpc = await grpcFor(app);
    });
    after(async () => {
      grpc?.clients.close();
      await grpc?.server.stop();
      await app?.close();
    });

    for (const c of CASES) {
      test(`${c.path}: /v2/models/{m}/infer and ModelInfer (typed and raw contents) agree`, async () => {
        const model = nameOf(c.path);
        const inputs = Object.entries(c.inputs).map(([name, t]) => ({ name, t, datatype: V2[t.dtype]! }));
        const rest = await app.inject({
          method: 'POST',
          url: `/v2/models/${model}/infer`,
          payload: {
            id: 'r1',
            inputs: inputs.map(({ name, t, datatype }) => ({
              name,
              datatype,
              shape: t.shape,
              data: flat(t),
            })),
          },
        });
        assert.equal(rest.statusCode, 200, rest.body);
        const body = rest.json();
        validate('inference_response', body);
        assert.equal(body.model_name, model);
        assert.equal(body.model_version, '1');
        assert.equal(body.id, 'r1');
        const typed = await grpc.clients.inference('ModelInfer', {
          model_name: model,
          id: 'g1',
          inputs: inputs.map(({ name, t, datatype }) => ({
            name,
            datatype,
            shape: t.shape,
            contents: { [GRPC_CONTENTS[datatype]!]: datatype === 'INT64' ? flat(t).map(String) : flat(t) },
          })),
        });
        const raw = await grpc.clients.inference('ModelInfer', {
          model_name: model,
          model_version: '1',
          inputs: inputs.map(({ name, t, datatype }) => ({ name, datatype, shape: t.shape })),
          raw_input_contents: inputs.map(({ t, datatype }) => rawBytes(flat(t), datatype)),
        });
        assert.equal(typed.id, 'g1');
        assert.deepEqual(
          body.outputs.map((o: { name: string }) => o.name),
          Object.keys(c.outputs).sort(),
        );
        for (const [i, out] of body.outputs.entries()) {
          const want = c.outputs[out.name]!;
          assert.equal(out.datatype, V2[want.dtype ?? 'DT_FLOAT']);
          assert.deepEqual(out.shape, want.shape);
          assertClose(out.data, want.values);
          const fromRest = out.datatype === 'FP32' ? out.data.map(Math.fround) : out.data;
          const g = typed.outputs[i];
          assert.equal(g.name, out.name);
          assert.deepEqual(g.shape.map(Number), out.shape);
          assert.deepEqual(
            g.contents[GRPC_CONTENTS[out.datatype]!].map(Number),
            fromRest,
            `${out.name}: typed gRPC vs REST`,
          );
          assert.deepEqual(
            fromRawBytes(raw.raw_output_contents[i], out.datatype),
            fromRest,
            `${out.name}: raw gRPC vs REST`,
          );
        }
      });
    }

    test('outputs asked for by name come back alone, in the order asked', async () => {
      const model = nameOf('tfjs/model_multi_output');
      const x = { datatype: 'INT32', shape: [3], data: [1, 2, 3] };
      const res = await app.inject({
        method: 'POST',
        url: `/v2/models/${model}/infer`,
        payload: {
          inputs: [
            { name: 'x', ...x },
            { name: 'y', ...x },
          ],
          outputs: [{ name: 'output_1' }],
        },
      });
      assert.deepEqual(
        res.json().outputs.map((o: { name: string }) => o.name),
        ['output_1'],
      );
      const g = await grpc.clients.inference('ModelInfer', {
        model_name: model,
        inputs: ['x', 'y'].map((name) => ({
          name,
          datatype: 'INT32',
          shape: [3],
          contents: { int_contents: [1, 2, 3] },
        })),
        outputs: [{ name: 'output_1' }, { name: 'output_0' }],
      });
      assert.deepEqual(
        g.outputs.map((o: { name: string }) => o.name),
        ['output_1', 'output_0'],
      );
      assert.deepEqual(g.outputs[1].contents.int_contents, [2, 4, 6]);
    });

    test('server and model metadata, liveness and readiness over REST and gRPC', async () => {
      const model = nameOf('tfserving/saved_model_half_plus_two_cpu/00000123');
      const server = (await app.inject({ method: 'GET', url: '/v2' })).json();
      validate('server_metadata', server);
      assert.deepEqual(await grpc.clients.inference('ServerMetadata', {}), server);
      validate('live', (await app.inject({ method: 'GET', url: '/v2/health/live' })).json());
      validate('ready', (await app.inject({ method: 'GET', url: '/v2/health/ready' })).json());
      assert.deepEqual(await grpc.clients.inference('ServerLive', {}), { live: true });
      assert.deepEqual(await grpc.clients.inference('ServerReady', {}), { ready: true });
      for (const url of [`/v2/models/${model}`, `/v2/models/${model}/versions/1`]) {
        const meta = (await app.inject({ method: 'GET', url })).json();
        validate('model_metadata', meta);
        // half_plus_two: x f32 [-1, 1] → y f32 [-1, 1] (TF Serving's testdata; V2 writes -1 for a variable dim).
        assert.deepEqual(meta, {
          name: model,
          versions: ['1'],
          platform: 'tensorflow_savedmodel',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
          outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
        });
      }
      const g = await grpc.clients.inference('ModelMetadata', { name: model });
      assert.deepEqual(
        g.inputs.map((t: any) => ({ ...t, shape: t.shape.map(Number) })),
        [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
      );
      assert.equal(g.platform, 'tensorflow_savedmodel');
      validate('model_ready', (await app.inject({ method: 'GET', url: `/v2/models/${model}/ready` })).json());
      validate(
        'model_ready',
        (await app.inject({ method: 'GET', url: `/v2/models/${model}/versions/1/ready` })).json(),
      );
      assert.deepEqual(await grpc.clients.inference('ModelReady', { name: model }), { ready: true });
    });

    test('errors are the spec\'s {"error": ...} over REST and gRPC statuses with the same codes', async () => {
      const model = nameOf('tfserving/saved_model_half_plus_two_cpu/00000123');
      const bad = [
        { url: '/v2/models/nope/infer', payload: { inputs: [] }, status: 404, grpc: 5 },
        {
          url: `/v2/models/${model}/infer`,
          payload: { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 1], data: [1] }] },
          status: 400,
          grpc: 3,
        },
        {
          url: `/v2/models/${model}/infer`,
          payload: { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 1], data: [1] }] },
          status: 400,
          grpc: 3,
        },
        {
          url: `/v2/models/${model}/infer`,
          payload: {
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }],
            outputs: [{ name: 'z' }],
          },
          status: 400,
          grpc: 3,
        },
      ];
      for (const b of bad) {
        const res = await app.inject({ method: 'POST', url: b.url, payload: b.payload });
        assert.equal(res.statusCode, b.status, res.body);
        validate('error_response', res.json());
        assert.deepEqual(Object.keys(res.json()), ['error']);
        const name = b.url.split('/')[3];
        const err = await grpcError(
          grpc.clients.inference('ModelInfer', {
            model_name: name,
            inputs: b.payload.inputs.map((i: any) => ({
              ...i,
              contents: { [GRPC_CONTENTS[i.datatype]!]: i.data },
            })),
            outputs: (b.payload as any).outputs ?? [],
          }),
        );
        assert.equal(err.code, b.grpc, `${b.url}: ${err.details}`);
      }
      const missing = await app.inject({ method: 'GET', url: '/v2/models/nope/ready' });
      assert.equal(missing.statusCode, 404);
      validate('error_response', missing.json());
    });
  },
);

function rawBytes(values: number[], datatype: string): Buffer {
  if (datatype === 'FP32') return Buffer.from(new Float32Array(values).buffer);
  if (datatype === 'INT64') return Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);
  return Buffer.from(new Int32Array(values).buffer);
}

function fromRawBytes(b: Buffer, datatype: string): number[] {
  const copy = new Uint8Array(b).buffer;
  if (datatype === 'FP32') return Array.from(new Float32Array(copy));
  if (datatype === 'INT64') return Array.from(new BigInt64Array(copy), Number);
  return Array.from(new Int32Array(copy));
}
