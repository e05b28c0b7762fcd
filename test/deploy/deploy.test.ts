import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { Histogram } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { parseServeFlags } from '../../src/cli/serve-command.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { loadOpenApiDocument } from '../../src/http/openapi.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { AGREEMENT_GAUGE_STATS, SHADOW_OUTCOMES, ShadowMetrics } from '../../src/shadow/shadow-metrics.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

const DEPLOY = join(REPO_ROOT, 'deploy');
type Doc = Record<string, any>;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function yamlDocs(path: string): Doc[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => {
    assert.equal(d.errors.length, 0, `${relative(REPO_ROOT, path)}: ${d.errors.join('; ')}`);
    return d.toJS() as Doc;
  });
}

const k8s = (kind: string, dir = 'kubernetes'): Doc[] =>
  files(join(DEPLOY, dir))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap(yamlDocs)
    .filter((d) => d.kind === kind);

const deployment = k8s('Deployment').find((d) => d.metadata.name === 'ctr-serve')!;
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers.find((c: Doc) => c.name === 'ctr-serve');
const httpPort = container.ports.find((p: Doc) => p.name === 'http');

const promFile = (name: string) => join(DEPLOY, 'prometheus', name);
const rules = yamlDocs(promFile('alert-rules.yml'))[0].groups.flatMap((g: Doc) => g.rules) as Doc[];
const dashboard = JSON.parse(
  readFileSync(join(DEPLOY, 'grafana', 'ctr-serve-dashboard.json'), 'utf8'),
) as Doc;
const dashboardExprs: string[] = dashboard.panels.flatMap((p: Doc) =>
  (p.targets ?? []).map((t: Doc) => t.expr),
);

test('every file in deploy/ parses as YAML or JSON', () => {
  const all = files(DEPLOY);
  assert.ok(all.length >= 8);
  for (const f of all) {
    if (f.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(readFileSync(f, 'utf8')), f);
    else if (/\.ya?ml$/.test(f)) assert.ok(yamlDocs(f).length > 0, f);
    else assert.fail(`unexpected file ${relative(REPO_ROOT, f)}`);
  }
});

test('the container listens on the port the service config gives its args, TF Serving port 8501', () => {
  const args: string[] = container.args;
  assert.equal(args[0], 'serve');
  const config = loadConfig({
    flags: parseServeFlags(args.slice(1)),
    defaultModelsDir: { path: '/models', names: ['ctr-student', 'ctr-teacher'] },
    cpuCount: 2,
  });
  assert.equal(httpPort.containerPort, config.restApiPort);
  assert.equal(config.restApiPort, 8501);
  assert.equal(config.restApiHost, '0.0.0.0');
  const grpcPort = container.ports.find((p: Doc) => p.name === 'grpc');
  assert.equal(grpcPort.containerPort, config.grpc.port, "the gRPC port (TF Serving's 8500) is declared");
  assert.equal(config.grpc.port, 8500);
  assert.equal(config.shadowModel, 'ctr-teacher', 'pods serve the student with the teacher as shadow');
  assert.ok(config.workers <= Number(container.resources.limits.cpu), 'one worker per CPU at most');
});

test('liveness and readiness probes use /healthz and /readyz on the http port, which the API serves', () => {
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
  const paths = Object.keys(loadOpenApiDocument().paths);
  for (const path of ['/healthz', '/readyz', '/metrics', '/v1/shadow']) assert.ok(paths.includes(path), path);
});

test('the pod declares CPU and memory requests and limits', () => {
  for (const kind of ['requests', 'limits']) {
    assert.ok(container.resources[kind].cpu, `${kind}.cpu`);
    assert.match(String(container.resources[kind].memory), /^\d+(Mi|Gi)$/, `${kind}.memory`);
  }
});

test('the Service, HPA and disruption budget point at the Deployment and its http port', () => {
  const labels = deployment.spec.template.metadata.labels;
  const [service] = k8s('Service');
  for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(labels[k], v, `selector ${k}`);
  assert.deepEqual(
    service.spec.ports.map((p: Doc) => [p.port, p.targetPort]),
    [
      [8501, 'http'],
      [8500, 'grpc'],
    ],
  );
  for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(labels[k], v);
  const [hpa] = k8s('HorizontalPodAutoscaler');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ctr-serve' });
  assert.ok(hpa.spec.minReplicas >= 1 && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
  assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
  const [pdb] = k8s('PodDisruptionBudget');
  for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(labels[k], v);
});

test('Prometheus scrapes the pod port and path that serve the metrics', () => {
  const annotations = deployment.spec.template.metadata.annotations;
  assert.equal(annotations['prometheus.io/scrape'], 'true');
  assert.equal(Number(annotations['prometheus.io/port']), httpPort.containerPort);
  assert.equal(annotations['prometheus.io/path'], '/metrics');
  const scrape = yamlDocs(promFile('scrape-config.yml'))[0];
  const job = scrape.scrape_configs.find((j: Doc) => j.job_name === 'ctr-serve');
  assert.ok(job, 'a ctr-serve scrape job (the alert rules select job="ctr-serve")');
  const keep = job.relabel_configs.find(
    (r: Doc) => r.action === 'keep' && /app_kubernetes_io_name/.test(r.source_labels[0]),
  );
  assert.equal(keep.regex, deployment.spec.template.metadata.labels['app.kubernetes.io/name']);
  assert.deepEqual(scrape.rule_files, ['alert-rules.yml']);
});

test('the models-volume variant mounts a read-only claim over /models of the same container', () => {
  const dir = join(DEPLOY, 'kubernetes', 'models-volume');
  const kustomization = yamlDocs(join(dir, 'kustomization.yaml'))[0];
  for (const r of kustomization.resources) assert.ok(existsSync(join(dir, r)), r);
  const patch = yamlDocs(join(dir, kustomization.patches[0].path))[0];
  const spec = patch.spec.template.spec;
  assert.equal(spec.containers[0].name, container.name);
  assert.deepEqual(spec.containers[0].volumeMounts[0], {
    name: 'models',
    mountPath: '/models',
    readOnly: true,
  });
  const [pvc] = k8s('PersistentVolumeClaim', 'kubernetes/models-volume');
  assert.equal(spec.volumes[0].persistentVolumeClaim.claimName, pvc.metadata.name);
  assert.match(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'), /COPY models \/models/);
  const top = yamlDocs(join(DEPLOY, 'kubernetes', 'kustomization.yaml'))[0];
  for (const r of top.resources) assert.ok(existsSync(join(DEPLOY, 'kubernetes', r)), r);
});

test('the optional KServe runtime starts the server on the port it declares, with the model KServe mounts', () => {
  const [runtime] = yamlDocs(join(DEPLOY, 'kserve', 'serving-runtime.yaml'));
  assert.equal(runtime.kind, 'ServingRuntime');
  const c = runtime.spec.containers[0];
  assert.equal(c.name, 'kserve-container');
  const args = (c.args as string[]).map((a) => a.replace('{{.Name}}', 'ctr-student'));
  assert.equal(args[0], 'serve');
  const config = loadConfig({ flags: parseServeFlags(args.slice(1)), cpuCount: 1 });
  assert.equal(c.ports[0].containerPort, config.restApiPort);
  assert.equal(Number(runtime.spec.annotations['prometheus.kserve.io/port']), config.restApiPort);
  assert.equal(runtime.spec.annotations['prometheus.kserve.io/path'], '/metrics');
  assert.deepEqual(
    config.models.map((m) => [m.name, m.basePath]),
    [['ctr-student', '/mnt/models']],
  );
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.ok(config.workers <= Number(c.resources.limits.cpu));
  // KServe's v1 is TF Serving REST, v2 the Open Inference Protocol REST; both are served on the HTTP port.
  assert.deepEqual(runtime.spec.protocolVersions, ['v1', 'v2']);
  const paths = Object.keys(loadOpenApiDocument().paths);
  for (const path of ['/v1/models/{name}:predict', '/v2/models/{name}/infer', '/v2/health/ready']) {
    assert.ok(paths.includes(path), path);
  }
  const [isvc] = yamlDocs(join(DEPLOY, 'kserve', 'inference-service.yaml'));
  assert.equal(isvc.spec.predictor.model.runtime, runtime.metadata.name);
  assert.ok(
    runtime.spec.supportedModelFormats.some(
      (f: Doc) => f.name === isvc.spec.predictor.model.modelFormat.name,
    ),
  );
});

/** metric name → label names, from the app's registry with the shadow metrics registered on it. */
function registryMetrics(): Map<string, string[]> {
  const metrics = new Metrics();
  new ShadowMetrics(metrics.registry, () => undefined);
  const out = new Map<string, string[]>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    const { name, labelNames = [] } = m as unknown as { name: string; labelNames?: string[] };
    out.set(name, labelNames);
    if (m instanceof Histogram) {
      for (const suffix of ['_bucket', '_sum', '_count']) out.set(name + suffix, [...labelNames, 'le']);
    }
  }
  return out;
}

/** Labels Prometheus adds at scrape time (deploy/prometheus/scrape-config.yml) or itself. */
const TARGET_LABELS = ['namespace', 'pod', 'job', 'instance'];

test('every metric and label the dashboard and alert rules query exists in the registry and docs/metrics.md', () => {
  const registry = registryMetrics();
  const docs = readFileSync(join(REPO_ROOT, 'docs', 'metrics.md'), 'utf8');
  const exprs = [...dashboardExprs, ...rules.map((r) => String(r.expr))];
  const used = new Set<string>();
  for (const expr of exprs) {
    for (const m of expr.matchAll(/\b((?:ctr|process|nodejs)_[a-z0-9_]+)\s*(\{[^}]*\})?/g)) {
      const [, name, selector] = m;
      used.add(name);
      const labels = registry.get(name);
      assert.ok(labels, `${name} (in "${expr}") is not in the registry`);
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (base.startsWith('ctr_'))
        assert.ok(docs.includes(`\`${base}\``), `${base} is not in docs/metrics.md`);
      for (const [, key, value] of (selector ?? '').matchAll(/(\w+)\s*=~?\s*"([^"]*)"/g)) {
        assert.ok([...labels, ...TARGET_LABELS].includes(key), `${name} has no label ${key}`);
        if (base === 'ctr_shadow_agreement' && key === 'stat') {
          assert.ok((AGREEMENT_GAUGE_STATS as readonly string[]).includes(value), `stat "${value}"`);
        }
        if (base === 'ctr_shadow_total' && key === 'outcome') {
          for (const v of value.split('|')) assert.ok((SHADOW_OUTCOMES as readonly string[]).includes(v), v);
        }
      }
    }
  }
  for (const name of [
    'ctr_shadow_agreement',
    'ctr_requests_shed_total',
    'ctr_predictions_total',
    'ctr_model_info',
  ]) {
    assert.ok(used.has(name), `the dashboard or rules should use ${name}`);
  }
});

test('the dashboard has a data source variable, unique panel ids and panels inside the 24-column grid', () => {
  assert.equal(dashboard.uid, 'ctr-serve');
  assert.ok(dashboard.templating.list.some((v: Doc) => v.type === 'datasource' && v.query === 'prometheus'));
  const ids = dashboard.panels.map((p: Doc) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of dashboard.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} overflows the grid`);
    if (p.type !== 'row') assert.ok(p.targets.length > 0 && p.targets.every((t: Doc) => t.expr), p.title);
  }
  const titles = dashboard.panels.map((p: Doc) => p.title.toLowerCase()).join(' | ');
  for (const topic of ['predictions / s', 'p99', 'shed', 'pearson', 'model versions'])
    assert.ok(titles.includes(topic), topic);
});

test('every alert rule has a severity and a summary', () => {
  assert.ok(rules.length >= 6);
  for (const r of rules) {
    assert.ok(['critical', 'warning', 'info'].includes(r.labels?.severity), `${r.alert} severity`);
    assert.ok(r.annotations?.summary, `${r.alert} summary`);
  }
  const names = rules.map((r) => r.alert);
  for (const a of [
    'CtrStudentTeacherAgreementLow',
    'CtrRequestsShed',
    'CtrPredictLatencyP99High',
    'CtrNoAvailableModel',
  ]) {
    assert.ok(names.includes(a), a);
  }
});

const promtool = spawnSync('promtool', ['--version']).status === 0;
const skipPromtool = promtool
  ? false
  : 'promtool is not installed (apt-get install -y prometheus); skipping promtool checks';

test('promtool accepts the alert rules and their unit tests pass', { skip: skipPromtool }, () => {
  const opts = { cwd: join(DEPLOY, 'prometheus'), encoding: 'utf8' as const };
  assert.match(
    execFileSync('promtool', ['check', 'rules', 'alert-rules.yml'], opts),
    /SUCCESS: \d+ rules found/,
  );
  assert.match(execFileSync('promtool', ['test', 'rules', 'alert-rules.test.yml'], opts), /SUCCESS/);
});
