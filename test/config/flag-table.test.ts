import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { FLAGS_DOC, flagsDoc } from '../../scripts/sync-flags-doc.ts';
import { commandUsage, parseFlags } from '../../src/cli/parse-flags.ts';
import type { CliIo } from '../../src/cli/command.ts';
import { flagValue, type FlagSpec } from '../../src/config/flag-spec.ts';
import { FLAG_TABLE, type CommandName } from '../../src/config/flag-table.ts';
import { loadConfig } from '../../src/config/serving-config.ts';

const io = (): CliIo & { text(): string } => {
  let text = '';
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stdout, stderr: stdout, env: {}, cwd: '/', stopSignal: new Promise(() => {}), text: () => text };
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

test('docs/flags.md is generated from the flag table (npm run sync:flags rewrites it)', () => {
  assert.equal(
    readFileSync(FLAGS_DOC, 'utf8'),
    flagsDoc(),
    'docs/flags.md is stale: run `npm run sync:flags`',
  );
});

test('every flag has a help text, a known type and a default inside its own range', () => {
  for (const [command, table] of Object.entries(FLAG_TABLE)) {
    const names = new Set<string>();
    for (const spec of table.flags as readonly FlagSpec[]) {
      assert.ok(!names.has(spec.name), `${command}: --${spec.name} twice`);
      names.add(spec.name);
      assert.ok(spec.help.length > 0, `${command}: --${spec.name} has no help`);
      if (spec.type === 'enum') assert.ok(spec.values?.includes(String(spec.default)));
      if (typeof spec.default === 'number') {
        assert.equal(flagValue(spec, String(spec.default), 'CTR_ERR_USAGE'), spec.default);
      }
    }
  }
});

test('--help of every command lists each flag with its meaning and default', () => {
  for (const command of Object.keys(FLAG_TABLE) as CommandName[]) {
    const usage = commandUsage(command);
    for (const spec of FLAG_TABLE[command].flags as readonly FlagSpec[]) {
      assert.match(
        usage,
        new RegExp(`--${spec.name}\\b.*${spec.help.slice(0, 20).replace(/[()?.*+[\]]/g, '\\$&')}`),
      );
      if (spec.default !== undefined)
        assert.match(usage, new RegExp(`--${spec.name}\\b.*default: ${spec.default}`));
    }
  }
  const out = io();
  assert.equal(parseFlags('distill', ['--help'], out), undefined);
  assert.equal(out.text(), commandUsage('distill'));
});

test('a boolean flag alone means true for every command, and takes =false', () => {
  assert.equal(parseFlags('inspect', ['m', '--json'], io())!.values.json, true);
  assert.equal(parseFlags('inspect', ['m', '--json=false'], io())!.values.json, false);
  assert.equal(parseFlags('distill', ['--quick'], io())!.values.quick, true);
  const serve = (flags: Record<string, string | boolean>) =>
    loadConfig({ flags: { model_base_path: '/m', ...flags } });
  assert.equal(serve({ share_history: true }).shareHistory, true);
  assert.equal(serve({ share_history: 'false' }).shareHistory, false);
  assert.equal(serve({ enable_batching: true }).batching.enabled, true);
});

test('flags are typed and range-checked from the table; bad ones are usage errors', () => {
  const data = parseFlags('data', ['--rows', '5', '--out=x.csv'], io())!;
  assert.deepEqual(data.values, {
    seed: 1,
    sample_seed: undefined,
    rows: 5,
    out: 'x.csv',
    config: undefined,
  });
  assert.equal(
    codeOf(() => parseFlags('data', ['--rows=0', '--out=x'], io())),
    'CTR_ERR_USAGE',
  );
  assert.equal(
    codeOf(() => parseFlags('data', ['--rows=2'], io())),
    'CTR_ERR_USAGE',
  );
  assert.equal(
    codeOf(() => parseFlags('data', ['--rows=2', '--out=x', '--nope=1'], io())),
    'CTR_ERR_USAGE',
  );
  assert.equal(
    codeOf(() => parseFlags('data', ['--rows=2', '--out=x', 'stray'], io())),
    'CTR_ERR_USAGE',
  );
  assert.equal(
    codeOf(() => parseFlags('distill', ['--seed=-1'], io())),
    'CTR_ERR_USAGE',
  );
  assert.equal(
    codeOf(() => parseFlags('inspect', [], io())),
    'CTR_ERR_USAGE',
  );
  assert.equal(
    codeOf(() => parseFlags('freeze', ['m', '--outputs=y'], io())),
    'CTR_ERR_USAGE',
  );
});

test("serve's defaults come from the table", () => {
  const config = loadConfig({ flags: { model_base_path: '/m' }, cpuCount: 3 });
  const spec = (name: string) => FLAG_TABLE.serve.flags.find((s) => s.name === name)!;
  assert.equal(config.restApiPort, spec('rest_api_port').default);
  assert.equal(config.maxQueueDelayMs, spec('max_queue_delay_ms').default);
  assert.equal(config.batching.enabled, spec('enable_batching').default);
  assert.equal(config.logLevel, spec('log_level').default);
  assert.equal(config.workers, 3);
});

test('--model_thread=auto gives each worker a model thread only when it can have two CPUs', () => {
  const thread = (flags: Record<string, string>, cpuCount: number) =>
    loadConfig({ flags: { model_base_path: '/m', ...flags }, cpuCount }).modelThread;
  assert.equal(thread({}, 2), false); // --workers defaults to the CPUs: one per worker
  assert.equal(thread({ workers: '1' }, 2), true);
  assert.equal(thread({ workers: '2' }, 4), true);
  assert.equal(thread({ workers: '3' }, 4), false);
  assert.equal(thread({ workers: '1' }, 1), false);
  assert.equal(thread({ workers: '2', model_thread: 'true' }, 2), true);
  assert.equal(thread({ workers: '1', model_thread: 'false' }, 2), false);
  assert.throws(() => thread({ model_thread: 'yes' }, 2), { code: 'CTR_ERR_INVALID_CONFIG' });
});
