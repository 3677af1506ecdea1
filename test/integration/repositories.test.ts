/**
 * The repository contract (issue 15 item 1): the same cases against the SQLite
 * implementation and against a real PostgreSQL 15, so the two engines answer alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/storage/database.js';
import { sqliteRepositories } from '../../src/storage/repositories/sqlite.js';
import { REGISTRY_CHANNEL, migrateState, pgRepositories } from '../../src/storage/repositories/postgres.js';
import { ConflictError, type Repositories } from '../../src/storage/repositories/types.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/gateway.js';
import { deadLetterRow } from '../../src/storage/sqlite-telemetry.js';
import { createHash } from 'node:crypto';

interface Engine { name: string; open: () => Promise<Repositories>; close: () => Promise<void> }

let server: Postgres | undefined;
let dbCount = 0;
const pools: pg.Pool[] = [];
/** a pool whose idle clients may see the server shut down after the last test (57P01): not an error of the test */
function testPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}
const sqlites: Array<{ db: Db; dir: string }> = [];

const engines: Engine[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = tempDir('repo-');
      const db = openDatabase({ dataDir: dir });
      sqlites.push({ db, dir });
      return sqliteRepositories(db);
    },
    close: async () => { for (const s of sqlites.splice(0)) { s.db.close(); rmSync(s.dir, { recursive: true, force: true }); } },
  },
  {
    name: 'postgres',
    open: async () => {
      server ??= await startPostgres();
      const url = await server.createDatabase(`repo_${++dbCount}`);
      const pool = testPool(url);
      await migrateState(pool);
      await migrateState(pool); // a second node starting: nothing applied twice
      return pgRepositories(pool);
    },
    close: async () => { for (const p of pools.splice(0)) await p.end(); },
  },
];

const device = (id: string, extra: Partial<Parameters<Repositories['devices']['insert']>[0]> = {}) => ({
  id, model: 'generic.water-quality', name: null, site: 'jiangnan/yuhua-garden/b3', attributes: { floor: 3, tags: ['a'] },
  devEui: null, secretHash: `scrypt$hash-${id}`, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000, ...extra,
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try { await p; } catch (err) { return err; }
  throw new Error('expected a rejection');
}

afterAll(async () => {
  for (const e of engines) await e.close();
  await server?.stop();
});

describe.each(engines)('repositories on $name', (engine) => {
  let r: Repositories;
  beforeAll(async () => { r = await engine.open(); }, 60_000);

  it('devices: a row round-trips with its JSON attributes, nulls and bigint times as numbers', async () => {
    await r.devices.insert(device('wq-1', { name: '3号楼', devEui: 'A1B2C3D4E5F60708' }));
    expect(await r.devices.get('wq-1')).toEqual({ ...device('wq-1', { name: '3号楼', devEui: 'A1B2C3D4E5F60708' }), lastSeen: null });
    expect(await r.devices.get('nope')).toBeUndefined();
    await r.devices.insert(device('wq-2'));
    expect((await r.devices.all()).map((d) => d.id).sort()).toEqual(['wq-1', 'wq-2']);
  });

  it('devices: a taken id or devEui is a ConflictError naming the field, and nothing is written', async () => {
    const dup = await rejection(r.devices.insert(device('wq-1', { model: 'other' })));
    expect(dup).toBeInstanceOf(ConflictError);
    expect((dup as ConflictError).field).toBe('id');
    const eui = await rejection(r.devices.insert(device('wq-3', { devEui: 'A1B2C3D4E5F60708' })));
    expect((eui as ConflictError).field).toBe('lorawan.devEui');
    expect(await r.devices.get('wq-3')).toBeUndefined();
    const upd = await rejection(r.devices.update('wq-2', { model: 'm', name: null, site: '', attributes: {}, devEui: 'A1B2C3D4E5F60708', updatedAt: 1 }));
    expect((upd as ConflictError).field).toBe('lorawan.devEui');
    expect((await r.devices.get('wq-1'))!.model).toBe('generic.water-quality');
  });

  it('devices: update, setSecret and delete report whether the device existed', async () => {
    expect(await r.devices.update('wq-2', { model: 'generic.water-level', name: 'tank', site: 'x/y', attributes: { a: null, b: 'c' }, devEui: null, updatedAt: 1_700_000_000_500 })).toBe(true);
    expect(await r.devices.get('wq-2')).toMatchObject({ model: 'generic.water-level', name: 'tank', site: 'x/y', attributes: { a: null, b: 'c' }, updatedAt: 1_700_000_000_500, createdAt: 1_700_000_000_000 });
    expect(await r.devices.update('nope', { model: 'm', name: null, site: '', attributes: {}, devEui: null, updatedAt: 1 })).toBe(false);
    expect(await r.devices.setSecret('wq-2', 'scrypt$new', 1_700_000_001_000)).toBe(true);
    expect((await r.devices.get('wq-2'))!.secretHash).toBe('scrypt$new');
    expect(await r.devices.setSecret('nope', 'x', 1)).toBe(false);
    expect(await r.devices.delete('wq-2')).toBe(true);
    expect(await r.devices.delete('wq-2')).toBe(false);
    expect(await r.devices.get('wq-2')).toBeUndefined();
  });

  it('devices: last_seen only moves forward; seenSince lists what moved', async () => {
    await r.devices.insert(device('wq-4'));
    await r.devices.markSeen(new Map([['wq-1', 2000], ['wq-4', 5000], ['ghost', 9000]]));
    await r.devices.markSeen(new Map([['wq-1', 1000], ['wq-4', 6000]]));
    expect((await r.devices.get('wq-1'))!.lastSeen).toBe(2000);
    expect((await r.devices.get('wq-4'))!.lastSeen).toBe(6000);
    expect((await r.devices.seenSince(3000)).sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: 'wq-4', lastSeen: 6000 }]);
    expect((await r.devices.seenSince(0)).length).toBe(2);
    await r.devices.markSeen(new Map());
  });

  it('api keys: insert, a taken name, upsert rebinding role and token but keeping createdAt, delete', async () => {
    await r.apiKeys.insert({ name: 'ops', role: 'crew', tokenHash: 'h1', createdAt: 10 });
    expect(await r.apiKeys.get('ops')).toEqual({ name: 'ops', role: 'crew', tokenHash: 'h1', createdAt: 10 });
    expect(((await rejection(r.apiKeys.insert({ name: 'ops', role: 'admin', tokenHash: 'h2', createdAt: 11 }))) as ConflictError).field).toBe('name');
    await r.apiKeys.upsert({ name: 'ops', role: 'admin', tokenHash: 'h3', createdAt: 99 });
    await r.apiKeys.upsert({ name: 'new', role: 'integrator', tokenHash: 'h4', createdAt: 12 });
    expect((await r.apiKeys.all()).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'new', role: 'integrator', tokenHash: 'h4', createdAt: 12 },
      { name: 'ops', role: 'admin', tokenHash: 'h3', createdAt: 10 },
    ]);
    expect(await r.apiKeys.delete('ops')).toBe(true);
    expect(await r.apiKeys.delete('ops')).toBe(false);
    expect(await r.apiKeys.get('ops')).toBeUndefined();
  });

  it('integrations: insert, a taken id, delete', async () => {
    await r.integrations.insert({ id: 'ttn', type: 'ttn-v3', secretHash: 's', createdAt: 5 });
    expect(((await rejection(r.integrations.insert({ id: 'ttn', type: 'chirpstack-v4', secretHash: 't', createdAt: 6 }))) as ConflictError).field).toBe('id');
    expect(await r.integrations.all()).toEqual([{ id: 'ttn', type: 'ttn-v3', secretHash: 's', createdAt: 5 }]);
    expect(await r.integrations.get('ttn')).toEqual({ id: 'ttn', type: 'ttn-v3', secretHash: 's', createdAt: 5 });
    expect(await r.integrations.delete('ttn')).toBe(true);
    expect(await r.integrations.delete('ttn')).toBe(false);
  });

  it('audit: newest first, filters, an action prefix with *, literal _ and case, limit, details', async () => {
    const rows: Array<[number, string, string, string]> = [
      [100, 'admin', 'device.create', 'wq-1'], [200, 'admin', 'device.rotate-credentials', 'wq-1'], [300, 'ops', 'api-key.create', 'k'],
      [400, 'admin', 'Device.delete', 'wq-1'], [500, 'admin', 'devicexcreate', 'wq-9'],
    ];
    for (const [ts, actor, action, target] of rows) await r.audit.insert({ ts, actor, action, target, ...(ts === 300 ? { details: { role: 'crew', n: 2 } } : {}) });
    const all = await r.audit.query({ from: 0, to: 1e15, limit: 100 });
    expect(all.map((e) => e.ts)).toEqual([500, 400, 300, 200, 100]);
    expect(all[2]).toMatchObject({ actor: 'ops', action: 'api-key.create', target: 'k', details: { role: 'crew', n: 2 } });
    expect(all[0]).not.toHaveProperty('details');
    expect(typeof all[0]!.id).toBe('number');
    expect((await r.audit.query({ from: 0, to: 1e15, action: 'device.*', limit: 100 })).map((e) => e.ts)).toEqual([200, 100]);
    expect((await r.audit.query({ from: 0, to: 1e15, action: 'device.create', limit: 100 })).map((e) => e.ts)).toEqual([100]);
    expect((await r.audit.query({ from: 0, to: 1e15, action: 'device_create', limit: 100 })).map((e) => e.ts)).toEqual([]);
    expect((await r.audit.query({ from: 0, to: 1e15, actor: 'admin', target: 'wq-1', limit: 100 })).map((e) => e.ts)).toEqual([400, 200, 100]);
    expect((await r.audit.query({ from: 200, to: 400, limit: 100 })).map((e) => e.ts)).toEqual([300, 200]);
    expect((await r.audit.query({ from: 0, to: 1e15, limit: 2 })).map((e) => e.ts)).toEqual([500, 400]);
  });

  it('kv: missing, set, overwrite', async () => {
    expect(await r.kv.get('k')).toBeUndefined();
    await r.kv.set('k', 'one');
    await r.kv.set('k', 'two');
    expect(await r.kv.get('k')).toBe('two');
  });

  const limits = { maxPayloadBytes: 8, maxTotalBytes: 1 << 30 };
  const letter = (ts: number, deviceId: string | undefined, payload: Buffer, reason = `bad ${ts}`) =>
    deadLetterRow({ ts, topic: `devices/${deviceId ?? 'x'}/up`, clientId: `c-${ts}`, deviceId, reason, payload }, limits);

  it('dead letters: one insert of many rows; bytes, nulls, the cut payload with its length and sha256; filters, order, keyset, limit', async () => {
    const big = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff]);
    expect(await r.deadLetters.insert([letter(100, 'wq-1', big), letter(200, undefined, Buffer.from('{"x":')), letter(300, 'wq-1', Buffer.alloc(0)), letter(400, 'wq-2', Buffer.from([0xde, 0xad]))], limits.maxTotalBytes)).toBe(0);
    const all = await r.deadLetters.query({ from: 0, to: 1e15, limit: 10 });
    expect(all.map((d) => d.ts)).toEqual([100, 200, 300, 400]);
    expect(all[0]).toEqual({
      id: expect.any(Number), ts: 100, topic: 'devices/wq-1/up', clientId: 'c-100', deviceId: 'wq-1', reason: 'bad 100',
      payload: big.subarray(0, 8), payloadBytes: 11, payloadSha256: createHash('sha256').update(big).digest('hex'),
    });
    expect(Buffer.isBuffer(all[0]!.payload)).toBe(true);
    expect(all[1]!.deviceId).toBeNull();
    expect(all[2]!.payload.length).toBe(0);
    const ids = all.map((d) => d.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids); // id order is arrival order
    expect((await r.deadLetters.query({ from: 0, to: 1e15, limit: 10, order: 'desc' })).map((d) => d.ts)).toEqual([400, 300, 200, 100]);
    expect((await r.deadLetters.query({ from: 0, to: 1e15, deviceId: 'wq-1', limit: 10 })).map((d) => d.ts)).toEqual([100, 300]);
    expect((await r.deadLetters.query({ from: 200, to: 400, limit: 10 })).map((d) => d.ts)).toEqual([200, 300]);
    expect((await r.deadLetters.query({ from: 0, to: 1e15, limit: 2, afterId: ids[1] })).map((d) => d.ts)).toEqual([300, 400]);
    expect((await r.deadLetters.query({ from: 0, to: 1e15, limit: 1, order: 'desc', afterId: ids[2] })).map((d) => d.ts)).toEqual([200]);
    const totals = await r.deadLetters.totals();
    expect(totals.rows).toBe(4);
    expect(totals.bytes).toBe([100, 200, 300, 400].reduce((n, ts, i) => n + [letter(100, 'wq-1', big), letter(200, undefined, Buffer.from('{"x":')), letter(300, 'wq-1', Buffer.alloc(0)), letter(400, 'wq-2', Buffer.from([0xde, 0xad]))][i]![8], 0));
    expect(await r.deadLetters.deleteBefore(300)).toBe(2);
    expect((await r.deadLetters.query({ from: 0, to: 1e15, limit: 10 })).map((d) => d.ts)).toEqual([300, 400]);
    expect((await r.deadLetters.totals()).rows).toBe(2);
    await r.deadLetters.deleteBefore(1e15);
    expect(await r.deadLetters.totals()).toEqual({ rows: 0, bytes: 0 });
  });

  it('dead letters: past maxTotalBytes the oldest are evicted in the inserting transaction, counted, and the totals follow', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => letter(1000 + i, 'wq-e', Buffer.alloc(8, i)));
    const size = rows[0]![8];
    expect(rows.every((x) => x[8] === size)).toBe(true);
    expect(await r.deadLetters.insert(rows.slice(0, 6), 6 * size)).toBe(0);
    // 4 more with room for 6: the 4 oldest go, newest kept
    expect(await r.deadLetters.insert(rows.slice(6), 6 * size)).toBe(4);
    expect((await r.deadLetters.query({ from: 0, to: 1e15, limit: 20 })).map((d) => d.ts)).toEqual([1004, 1005, 1006, 1007, 1008, 1009]);
    expect(await r.deadLetters.totals()).toEqual({ rows: 6, bytes: 6 * size });
    // a row larger than the whole cap: oldest first until within it, so it goes too (as the SQLite store always did)
    expect(await r.deadLetters.insert([letter(2000, 'wq-e', Buffer.alloc(8, 9), 'x'.repeat(500))], 2 * size)).toBe(7);
    expect((await r.deadLetters.query({ from: 0, to: 1e15, limit: 20 })).map((d) => d.ts)).toEqual([]);
    expect(await r.deadLetters.totals()).toEqual({ rows: 0, bytes: 0 });
    expect(await r.deadLetters.insert([], 0)).toBe(0);
  });

  it('dead letters: a U+0000 in the text columns is kept readable (PostgreSQL text cannot hold it: U+FFFD there)', async () => {
    await r.deadLetters.insert([deadLetterRow({ ts: 5, topic: 'a\u0000b', clientId: '\u0000', deviceId: 'd\u0000', reason: 'r\u0000', payload: Buffer.from([0]) }, limits)], limits.maxTotalBytes);
    const [d] = await r.deadLetters.query({ from: 0, to: 10, limit: 1 });
    const nul = engine.name === 'postgres' ? '\uFFFD' : '\u0000';
    expect(d).toMatchObject({ topic: `a${nul}b`, clientId: nul, deviceId: `d${nul}`, reason: `r${nul}`, payload: Buffer.from([0]) });
    await r.deadLetters.deleteBefore(1e15);
  });

  it('user models: insert, a taken id, get, update, delete report whether the model existed', async () => {
    const m = { id: 'user.tank', definition: '{"id":"user.tank"}', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 };
    await r.userModels.insert(m);
    const taken = await rejection(r.userModels.insert({ ...m, definition: '{}' }));
    expect(taken).toBeInstanceOf(ConflictError);
    expect((taken as ConflictError).field).toBe('id');
    expect(await r.userModels.get('user.tank')).toEqual(m);
    expect(await r.userModels.get('user.nope')).toBeUndefined();
    expect(await r.userModels.update('user.tank', '{"v":2}', m.updatedAt + 1)).toBe(true);
    expect(await r.userModels.update('user.nope', '{}', 1)).toBe(false);
    expect(await r.userModels.all()).toEqual([{ ...m, definition: '{"v":2}', updatedAt: m.updatedAt + 1 }]);
    expect(await r.userModels.delete('user.tank')).toBe(true);
    expect(await r.userModels.delete('user.tank')).toBe(false);
    expect(await r.userModels.all()).toEqual([]);
  });
});

describe('PostgreSQL change notifications', () => {
  it('every committed registry change, and no last-seen update, is announced as {kind, id}', async () => {
    server ??= await startPostgres();
    const url = await server.createDatabase('repo_notify');
    const pool = testPool(url);
    await migrateState(pool);
    const r = pgRepositories(pool);
    const listener = new pg.Client({ connectionString: url });
    listener.on('error', () => undefined); // the server's shutdown at the end of the file
    await listener.connect();
    const got: unknown[] = [];
    listener.on('notification', (n) => got.push(JSON.parse(n.payload!)));
    await listener.query(`LISTEN ${REGISTRY_CHANNEL}`);
    await r.devices.insert(device('d1'));
    await r.devices.markSeen(new Map([['d1', 123]]));
    await r.devices.setSecret('d1', 'x', 2);
    await r.devices.update('d1', { model: 'm', name: null, site: '', attributes: {}, devEui: null, updatedAt: 3 });
    await r.devices.delete('d1');
    await r.apiKeys.insert({ name: 'k', role: 'crew', tokenHash: 'h', createdAt: 1 });
    await r.apiKeys.upsert({ name: 'k', role: 'crew', tokenHash: 'h', createdAt: 1 }); // unchanged: not announced
    await r.apiKeys.delete('k');
    await r.integrations.insert({ id: 'i', type: 'ttn-v3', secretHash: 's', createdAt: 1 });
    await r.userModels.insert({ id: 'user.m', definition: '{}', createdAt: 1, updatedAt: 1 });
    await r.userModels.update('user.m', '{"v":2}', 2);
    await r.userModels.delete('user.m');
    await r.deadLetters.insert([deadLetterRow({ ts: 1, topic: 't', clientId: 'c', reason: 'r', payload: Buffer.from('x') }, { maxPayloadBytes: 10, maxTotalBytes: 100 })], 100); // not a registry change
    // a rolled-back change is never announced
    const c = await pool.connect();
    await c.query('BEGIN');
    await c.query("DELETE FROM integrations WHERE id = 'i'");
    await c.query('ROLLBACK');
    c.release();
    await new Promise((res) => setTimeout(res, 300));
    await listener.end();
    expect(got).toEqual([
      { kind: 'device', id: 'd1' }, { kind: 'device', id: 'd1' }, { kind: 'device', id: 'd1' }, { kind: 'device', id: 'd1' },
      { kind: 'api_key', id: 'k' }, { kind: 'api_key', id: 'k' },
      { kind: 'integration', id: 'i' },
      { kind: 'user_model', id: 'user.m' }, { kind: 'user_model', id: 'user.m' }, { kind: 'user_model', id: 'user.m' },
    ]);
  }, 60_000);
});
