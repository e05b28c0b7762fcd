// Import rules of src/ (docs/architecture.md draws them). `npm run lint:deps` checks them; `npm test` runs it.
// A folder may import itself and the folders listed for it, nothing else in src/. Type-only imports count.
const LAYERS = {
  errors: [],
  client: [],
  config: ['errors'],
  graph: ['errors'],
  metrics: ['errors', 'graph', 'serving'],
  serving: ['errors', 'config', 'graph'],
  api: ['errors', 'config', 'graph', 'serving'],
  ctr: ['errors', 'config', 'graph', 'serving'],
  shadow: ['errors', 'config', 'graph', 'serving', 'ctr'],
  http: ['errors', 'config', 'graph', 'serving', 'api', 'ctr', 'shadow', 'metrics'],
  grpc: ['errors', 'config', 'graph', 'serving', 'api', 'metrics'],
  'app.ts': ['errors', 'config', 'graph', 'serving', 'ctr', 'shadow', 'metrics', 'http'],
  training: ['errors', 'graph', 'ctr'],
  cli: ['errors', 'config', 'graph', 'http', 'grpc', 'metrics', 'training', 'app.ts'],
  'main.ts': ['cli'],
};
const folder = (name) => (name.endsWith('.ts') ? `^src/${name.replace('.', '[.]')}$` : `^src/${name}/`);

const layerRules = Object.entries(LAYERS).map(([from, allowed]) => ({
  name: `layer-${from}`,
  comment: `src/${from}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing else in src/'}`,
  severity: 'error',
  from: { path: folder(from) },
  to: { path: '^src/', pathNot: [folder(from), ...allowed.map(folder)] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(src|bench|scripts|test)/' },
      to: { circular: true },
    },
    {
      name: 'src-stays-in-src',
      comment:
        'the Docker image copies only bin/ and src/: nothing in src/ imports bench/, test/ or scripts/',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(bench|test|scripts)/' },
    },
    {
      name: 'graph-internals',
      // The exceptions: training's exporter builds graphs (builder/, bundle/, proto/); the CTR
      // adapter registers its graph variants, whose rewrites and runtime live in graph/rewrite and
      // graph/tfjs; `ctr-serve freeze` writes the GraphDef freezeModel returns (proto/encode).
      comment: 'outside graph/ (and the three exceptions), graph/ is used through its top-level files',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: ['^src/graph/', '^src/training/', '^src/ctr/', '^src/cli/freeze-command[.]ts$'],
      },
      to: { path: '^src/graph/[^/]+/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
