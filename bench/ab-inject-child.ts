// One in-process sample for bench/ab.ts: TREE's own `buildApp` (its readConfig, its routes), requests sent with
// Fastify's inject() one at a time, so no socket, client or scheduler wake-up is measured, only this process's CPU:
//   node --import tsx bench/ab-inject-child.ts TREE MODEL_BASE BODIES_JSON [REQUESTS] [FLAGS...]
// BODIES_JSON lists {name, path, file}. Prints one line, AB_RESULT and JSON: CPU ms per request for each body, measured after
// as many unmeasured requests (JIT warm-up).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';

type Bodies = { name: string; path: string; file: string }[];

const [tree, modelBase, bodiesFile, requests = '1000', ...flags] = process.argv.slice(2);
if (!tree || !modelBase || !bodiesFile) {
  process.stderr.write('usage: ab-inject-child.ts TREE MODEL_BASE BODIES_JSON [REQUESTS] [FLAGS...]\n');
  process.exit(2);
}
const load = async <T>(file: string) => (await import(pathToFileURL(join(tree, file)).href)) as T;
const { readConfig } = await load<{ readConfig(a: string[], io: { cwd: string }): Promise<unknown> }>(
  'src/cli/serve-command.ts',
);
const { buildApp } = await load<{ buildApp(c: unknown): Promise<FastifyInstance> }>('src/app.ts');
const args = [`--model_name=ctr-student`, `--model_base_path=${modelBase}`, '--workers=1', ...flags];
const app = await buildApp(await readConfig(args, { cwd: tree }));
await app.ready();
for (let i = 0; i < 1200 && (await app.inject({ url: '/readyz' })).statusCode !== 200; i++) {
  await new Promise((r) => setTimeout(r, 100));
}
const n = Number(requests);
const result: Record<string, number> = {};
for (const b of JSON.parse(readFileSync(bodiesFile, 'utf8')) as Bodies) {
  const payload = readFileSync(b.file);
  const send = async () => {
    const r = await app.inject({
      method: 'POST',
      url: b.path,
      payload,
      headers: { 'content-type': 'application/json' },
    });
    if (r.statusCode !== 200) throw new Error(`${b.name}: HTTP ${r.statusCode} ${r.body.slice(0, 300)}`);
  };
  for (let i = 0; i < n; i++) await send();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await send();
  const cpu = process.cpuUsage(cpu0);
  result[b.name] = (cpu.user + cpu.system) / 1000 / n;
}
process.stdout.write(`AB_RESULT ${JSON.stringify(result)}\n`);
await app.close();
process.exit(0);
