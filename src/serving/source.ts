import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { VersionPolicy } from '../config/serving-config.ts';

/**
 * The source of TF Serving: it lists the version directories under a model's base path
 * (`<base>/<version>/`, positive integers, zero padding allowed: `00000123` is version 123) and says which of
 * them the version policy aspires to serve. Each version carries a fingerprint of its files (relative path,
 * size, mtime) so the manager reloads a version whose files changed and retries a failed one only then.
 * Scanning never throws: an unreadable base path is reported in `error` with no versions.
 */

export type VersionDir = {
  readonly version: number;
  readonly path: string;
  readonly fingerprint: string;
};

export type ScanResult = { readonly found: readonly VersionDir[]; readonly error?: string };

const MAX_DEPTH = 6;

export async function scanVersions(basePath: string): Promise<ScanResult> {
  let entries;
  try {
    entries = await readdir(basePath, { withFileTypes: true });
  } catch (err) {
    return { found: [], error: `cannot read base path ${basePath}: ${(err as Error).message}` };
  }
  const byVersion = new Map<number, string>();
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!/^\d+$/.test(entry.name)) continue;
    const version = Number(entry.name);
    if (!Number.isSafeInteger(version) || version <= 0 || byVersion.has(version)) continue;
    const path = join(basePath, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await isDirectory(path)));
    if (isDir) byVersion.set(version, path);
  }
  const found: VersionDir[] = [];
  for (const [version, path] of [...byVersion].sort((a, b) => a[0] - b[0])) {
    const parts: string[] = [];
    try {
      await fingerprintInto(path, '', 0, parts);
    } catch {
      continue; // removed while we read it: the next scan decides
    }
    found.push({ version, path, fingerprint: parts.join('\n') });
  }
  return { found };
}

/** Versions the policy wants served, ascending. */
export function aspiredVersions(found: readonly VersionDir[], policy: VersionPolicy): VersionDir[] {
  const sorted = [...found].sort((a, b) => a.version - b.version);
  switch (policy.kind) {
    case 'all':
      return sorted;
    case 'latest':
      return sorted.slice(Math.max(0, sorted.length - policy.numVersions));
    case 'specific':
      return sorted.filter((v) => policy.versions.includes(v.version));
  }
}

async function fingerprintInto(dir: string, rel: string, depth: number, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    const info = await stat(path);
    if (info.isDirectory()) {
      if (depth < MAX_DEPTH) await fingerprintInto(path, relPath, depth + 1, out);
    } else {
      out.push(`${relPath}:${info.size}:${info.mtimeMs}`);
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
