#!/usr/bin/env node
// Plugins depend on @noether/core only, never on each other, so users install only what they need.
// Checks declared dependencies and every import in each plugin's sources.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const plugins = readdirSync(join(root, 'packages')).filter((p) => p !== 'core');
const errors = [];
const walk = (dir) => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
});
for (const p of plugins) {
  const dir = join(root, 'packages', p);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const section of ['dependencies', 'peerDependencies', 'devDependencies', 'optionalDependencies']) {
    for (const dep of Object.keys(pkg[section] ?? {})) {
      if (dep.startsWith('@noether/') && dep !== '@noether/core') errors.push(`packages/${p}/package.json ${section} names ${dep}: plugins may depend on @noether/core only`);
    }
  }
  for (const file of [...walk(join(dir, 'src')), ...walk(join(dir, 'test'))]) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/from\s+['"](@noether\/[^'"/]+)|import\(\s*['"](@noether\/[^'"/]+)/g)) {
      const dep = m[1] ?? m[2];
      if (dep !== '@noether/core') errors.push(`${file.slice(root.length)} imports ${dep}: plugins may import @noether/core only`);
    }
    if (p !== 'datasets' && p !== 'metrics' && file.includes('/src/') && /from\s+['"](node:)?(fs|worker_threads|child_process)(\/promises)?['"]/.test(src)) {
      errors.push(`${file.slice(root.length)} uses a Node-only API: model code must stay browser-capable`);
    }
  }
}
for (const file of walk(join(root, 'packages', 'core', 'src'))) {
  const src = readFileSync(file, 'utf8');
  if (/from\s+['"](node:)?(fs|worker_threads|child_process)(\/promises)?['"]/.test(src)) errors.push(`${file.slice(root.length)} uses a Node-only API: core must stay browser-capable`);
  if (/from\s+['"]@noether\//.test(src)) errors.push(`${file.slice(root.length)} imports a plugin: core depends on no plugin`);
}
// Every package installs alone: each package it imports must be in its own package.json, not
// merely hoisted into the workspace's node_modules by a sibling.
const builtins = new Set(builtinModules);
for (const base of ['packages', 'apps']) {
  for (const p of readdirSync(join(root, base))) {
    const dir = join(root, base, p);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const declared = new Set(['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((s) => Object.keys(pkg[s] ?? {})));
    for (const file of walk(join(dir, 'src'))) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from\s+|import\s*\(?\s*)['"]([^'".][^'"]*)['"]/g)) {
        if (m[1].startsWith('node:')) continue;
        const name = m[1].split('/').slice(0, m[1].startsWith('@') ? 2 : 1).join('/');
        if (!builtins.has(name) && !declared.has(name)) errors.push(`${file.slice(root.length)} imports ${name}, which ${base}/${p}/package.json does not declare: add it to its dependencies`);
      }
    }
  }
}
if (errors.length) {
  console.error('Package boundary check failed:\n  ' + errors.join('\n  '));
  process.exit(1);
}
console.log(`Package boundaries OK (${plugins.length} plugins depend on core only).`);
