import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOpenApiDocument } from '../../src/http/openapi.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

/**
 * The paths docs/api.md writes in backticks, expanded: `[x]` is optional, `[a\|b]` one of them or none, a method
 * in front is dropped, and every `{param}` reads as `{}`.
 */
function documentedPaths(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const [, span] of markdown.matchAll(/`(?:[A-Z]+ )?(\/[^`\s]*)`/g)) {
    let forms = [span!.replace(/\{\w+\}/g, '{}')];
    for (;;) {
      const next = forms.flatMap((f) => {
        const m = /\[([^\][]*)\]/.exec(f);
        if (!m) return [f];
        const options = ['', ...m[1]!.split('\\|')];
        return options.map((o) => f.slice(0, m.index) + o + f.slice(m.index + m[0].length));
      });
      if (next.length === forms.length) break;
      forms = next;
    }
    for (const f of forms) out.add(f);
  }
  return out;
}

test('docs/api.md documents every path of openapi.yaml (which app.test.ts checks against the served routes)', () => {
  const documented = documentedPaths(readFileSync(join(REPO_ROOT, 'docs/api.md'), 'utf8'));
  const paths = Object.keys(loadOpenApiDocument().paths);
  assert.ok(paths.length >= 30, `${paths.length} paths: openapi.yaml was not read`);
  const missing = paths.filter((p) => !documented.has(p.replace(/\{\w+\}/g, '{}')));
  assert.deepEqual(
    missing,
    [],
    `paths of openapi.yaml that docs/api.md does not name: ${missing.join(', ')}`,
  );
});

test('the expansion reads optional and alternative segments', () => {
  assert.deepEqual([...documentedPaths('`GET /a/{m}[/v/{v}][/x\\|:y]`')].sort(), [
    '/a/{}',
    '/a/{}/v/{}',
    '/a/{}/v/{}/x',
    '/a/{}/v/{}:y',
    '/a/{}/x',
    '/a/{}:y',
  ]);
});
