/**
 * Dead letters are bounded (issue 13): one device within its rate limit floods 250 kB random
 * payloads every 22 ms for 10 s. Each is acknowledged and kept as a dead letter (count
 * intact, original length and sha256 kept) while the data directory grows by at most 20 MB;
 * past ingest.deadLetters.maxTotalBytes the oldest go first, counted in /metrics, with a
 * per-device dead-letter counter.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dirBytes = (dir: string) => readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

describe('dead-letter flood', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // the default publish rate limit (50/s, burst 500): the flood stays within it
    gw = await startGateway({ config: { mqtt: { host: '127.0.0.1', port: 0 } } });
  });
  afterAll(async () => gw?.stop());

  it('keeps 10 s of 250 kB garbage every 22 ms in at most 20 MB, every message acknowledged and counted', async () => {
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'flooder', model: 'generic.water-quality' } });
    const client = await connect(gw.mqttPort, { username: 'flooder', password: r.body.credentials.password, clientId: 'flooder' });
    let closes = 0;
    client.on('close', () => closes++);
    await sleep(200);
    const before = dirBytes(gw.dataDir);
    const hashes: string[] = [];
    const acks: Array<Promise<void>> = [];
    // on a fixed schedule (one every 22 ms from the start), as the issue measured: ~455 messages
    const start = Date.now();
    for (let k = 0; start + k * 22 < start + 10_000; k++) {
      const payload = randomBytes(250_000);
      hashes.push(createHash('sha256').update(payload).digest('hex'));
      acks.push(publish(client, 'devices/flooder/up', payload));
      await sleep(Math.max(0, start + (k + 1) * 22 - Date.now()));
    }
    await Promise.all(acks);
    expect(closes).toBe(0);
    await gw.gateway.committer.flush();
    const grown = dirBytes(gw.dataDir) - before;
    process.stdout.write(`flood: ${hashes.length} messages of 250 kB acknowledged, data dir +${(grown / 1e6).toFixed(2)} MB\n`);
    expect(grown, `data dir grew by ${(grown / 1e6).toFixed(1)} MB`).toBeLessThanOrEqual(20e6);
    expect(hashes.length).toBe(455);
    const items = (await listAll(gw.api, '/api/v1/dead-letters?device=flooder')) as Array<{ payloadBase64: string; payloadBytes: number; payloadSha256: string; truncated: boolean; reason: string }>;
    expect(items).toHaveLength(hashes.length);
    expect(items.every((d) => d.payloadBytes === 250_000 && d.truncated && Buffer.from(d.payloadBase64, 'base64').length === 4096)).toBe(true);
    expect(new Set(items.map((d) => d.payloadSha256))).toEqual(new Set(hashes));
    const text = (await gw.api('/metrics', { token: null })).text;
    expect(metric(text, /gateway_device_dead_letters_total\{device="flooder"\} (\d+)/)).toBe(hashes.length);
    expect(metric(text, /gateway_dead_letters_evicted_total (\d+)/)).toBe(0);
    client.end(true);
  }, 60_000);
});

describe('dead-letter cap', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ config: { ingest: { deadLetters: { maxPayloadBytes: 4096, maxTotalBytes: 1024 * 1024, metricDevices: 1 } } } });
  });
  afterAll(async () => gw?.stop());

  it('evicts the oldest past maxTotalBytes, counts them, and labels at most metricDevices devices', async () => {
    const a = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'junk-a', model: 'generic.water-quality' } });
    const b = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'junk-b', model: 'generic.water-quality' } });
    const ca = await connect(gw.mqttPort, { username: 'junk-a', password: a.body.credentials.password, clientId: 'junk-a' });
    const cb = await connect(gw.mqttPort, { username: 'junk-b', password: b.body.credentials.password, clientId: 'junk-b' });
    const N = 400; // 400 x ~4.3 kB is well past 1 MiB
    for (let i = 0; i < N; i++) await publish(ca, 'devices/junk-a/up', Buffer.concat([Buffer.from(`#${String(i).padStart(4, '0')}`), randomBytes(8000)]));
    await publish(cb, 'devices/junk-b/up', 'not json');
    const db = gw.gateway.db;
    const total = db.prepare('SELECT bytes, rows FROM dead_letter_totals').get() as { bytes: number; rows: number };
    expect(total.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(total.rows).toBe(db.prepare('SELECT count(*) FROM dead_letters').pluck().get());
    const items = (await listAll(gw.api, '/api/v1/dead-letters')) as Array<{ payloadBase64: string; deviceId: string }>;
    const text = (await gw.api('/metrics', { token: null })).text;
    const evicted = metric(text, /gateway_dead_letters_evicted_total (\d+)/);
    expect(evicted).toBeGreaterThan(0);
    expect(items.length + evicted).toBe(N + 1);
    // the newest survive: the last junk-a payload and junk-b's
    expect(Buffer.from(items.find((d) => d.deviceId === 'junk-a')!.payloadBase64, 'base64').subarray(0, 5).toString()).toBe(`#${String(N - 1).padStart(4, '0')}`);
    expect(items.some((d) => d.deviceId === 'junk-b')).toBe(true);
    expect(metric(text, /gateway_device_dead_letters_total\{device="junk-a"\} (\d+)/)).toBe(N);
    expect(metric(text, /gateway_device_dead_letters_total\{device="other"\} (\d+)/)).toBe(1);
    ca.end(true);
    cb.end(true);
  }, 60_000);
});
