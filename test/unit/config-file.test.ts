/**
 * config/gateway.yaml documents every key of the config schema (src/config.ts), each with a
 * comment; optional blocks without defaults (tls, ws, sources, webhooks) as commented-out
 * examples. The values it sets are the defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML, { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ConfigSchema } from '../../src/config.js';

const ROOT = join(import.meta.dirname, '../..');
const text = readFileSync(join(ROOT, 'config/gateway.yaml'), 'utf8');
/** commented-out keys (`#   port: 8883`, `#  - name: ttn`) become keys; prose comments stay comments */
const uncommented = text.split('\n').map((l) => l.replace(/^(\s*)# ?((?:\s*- )?\s*[A-Za-z][A-Za-z0-9]*:(?: .*)?)$/, '$1$2')).join('\n');

type Any = z.core.$ZodType & { def: Record<string, unknown> };
function unwrap(s: Any): Any {
  for (;;) {
    const t = s.def.type as string;
    if (t === 'default' || t === 'prefault' || t === 'optional' || t === 'nullable' || t === 'readonly') s = s.def.innerType as Any;
    else if (t === 'pipe') s = s.def.in as Any;
    else return s;
  }
}
/** every key path of the schema; array elements as `[]` */
function schemaPaths(s: Any, prefix = ''): string[] {
  const u = unwrap(s);
  if (u.def.type === 'object') {
    return Object.entries(u.def.shape as Record<string, Any>).flatMap(([k, v]) => [`${prefix}${k}`, ...schemaPaths(v, `${prefix}${k}.`)]);
  }
  if (u.def.type === 'array') return schemaPaths(u.def.element as Any, `${prefix}[].`);
  // a discriminated union (notify.channels): the keys of every option
  if (u.def.type === 'union') return [...new Set((u.def.options as Any[]).flatMap((o) => schemaPaths(o, prefix)))];
  return [];
}
function docPaths(node: Node | null | undefined, prefix = '', out = new Map<string, boolean>()): Map<string, boolean> {
  if (isMap(node)) {
    for (const [i, item] of node.items.entries()) {
      if (!isPair(item) || !isScalar(item.key)) continue;
      const key = `${prefix}${String(item.key.value)}`;
      const value = item.value as (Node & { comment?: string; commentBefore?: string }) | null;
      // the yaml library attaches the comment above a map's first key to the map itself
      const commented = Boolean(item.key.commentBefore?.trim() || item.key.comment?.trim() || value?.comment?.trim() || value?.commentBefore?.trim()
        || (i === 0 && node.commentBefore?.trim()));
      out.set(key, (out.get(key) ?? false) || commented);
      docPaths(value, `${key}.`, out);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) docPaths(item as Node, `${prefix}[].`, out);
  }
  return out;
}

describe('config/gateway.yaml', () => {
  const doc = YAML.parseDocument(uncommented, { uniqueKeys: false });
  const inDoc = docPaths(doc.contents);
  const keys = schemaPaths(ConfigSchema as unknown as Any);

  it('parses, and its commented-out examples are valid config', () => {
    expect(doc.errors).toEqual([]);
    const r = ConfigSchema.safeParse(doc.toJS());
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });

  it('has every schema key, and no key the schema lacks', () => {
    expect(keys.filter((k) => !inDoc.has(k))).toEqual([]);
    expect([...inDoc.keys()].filter((k) => !keys.includes(k))).toEqual([]);
    expect(keys.length).toBeGreaterThan(60);
  });

  it('comments every key (before it or on its line)', () => {
    // keys of a commented example block inherit the block's comment when they are self-explanatory
    const uncommentedKeys = [...inDoc].filter(([, commented]) => !commented).map(([k]) => k);
    expect(uncommentedKeys).toEqual([]);
  });

  it('sets the defaults', () => {
    expect(ConfigSchema.parse(YAML.parse(text))).toEqual(ConfigSchema.parse({}));
  });
});
