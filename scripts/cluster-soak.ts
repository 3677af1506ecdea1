/**
 * Soak of the Redis-backed broker (docs/cluster.md "Memory under a soak"): two in-process
 * gateways on one redis-server, devices publishing QoS 1 on node A, a consumer with a
 * persistent session (clean=false) on node B receiving telemetry/#. Phase 2 takes the
 * consumer offline so its QoS 1 queue builds up in Redis, then waits past packetTTL.
 * Prints heap/RSS of this process and Redis used_memory / keys per phase.
 *
 *   npx tsx scripts/cluster-soak.ts [seconds per phase, default 30] [packetTtlS, default 10]
 */
import { Redis as IORedis } from 'ioredis';
import { startGateway, ADMIN_TOKEN } from '../test/helpers/gateway.js';
import { startRedis } from '../test/helpers/redis.js';
import { connect, publish } from '../test/helpers/mqtt.js';

const phaseS = Number(process.argv[2] ?? 30);
const ttl = Number(process.argv[3] ?? 10);
const DEVICES = 20;

console.error("starting redis");
const redis = await startRedis();
console.error("redis up");
const a = await startGateway({ config: { cluster: { nodeId: 'soak-a', redis: { url: redis.url, packetTtlS: ttl } } } });
const b = await startGateway({ config: { cluster: { nodeId: 'soak-b', redis: { url: redis.url, packetTtlS: ttl } } } });
const r = new IORedis(redis.url);
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
async function sample(label: string, sent: number, got: number) {
  global.gc?.();
  const info = await r.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)![1]);
  const keys = await r.dbsize();
  const m = process.memoryUsage();
  console.log(JSON.stringify({ label, sent, received: got, rss: mb(m.rss), heap: mb(m.heapUsed), redisUsed: mb(used), redisKeys: keys }));
}

const devs = [];
for (let i = 0; i < DEVICES; i++) {
  const id = `soak-${i}`;
  const p = await a.api('/api/v1/devices', { method: 'POST', json: { id, model: 'generic.water-quality', site: 'soak/s' } });
  devs.push({ id, c: await connect(a.mqttPort, { username: id, password: p.body.credentials.password, clientId: id }) });
}
console.error('devices connected');
let got = 0;
let sent = 0;
let cons = await connect(b.mqttPort, { username: 'apikey', password: ADMIN_TOKEN, clientId: 'soak-consumer', clean: false });
cons.on('message', () => got++);
await cons.subscribeAsync('telemetry/#', { qos: 1 });
await cons.subscribeAsync('alerts/#', { qos: 1 });
console.error('consumer subscribed');
await new Promise((res) => setTimeout(res, 500));
let running = true;
const loops = devs.map(async (d) => {
  while (running) {
    await publish(d.c, `devices/${d.id}/up`, JSON.stringify({ ph: 7 + Math.random() / 10, turbidity_ntu: 0.3 }));
    sent++;
  }
});
await sample('start', sent, got);
const until = (s: number) => new Promise((res) => setTimeout(res, s * 1000));
for (let k = 1; k <= 3; k++) { await until(phaseS / 3); await sample(`online consumer ${k}/3`, sent, got); }
await cons.endAsync();
// the gateway publishes telemetry/ and alerts/ at QoS 0 (not queued for offline sessions):
// QoS 1 messages on alerts/ stand for what a QoS 1 publisher would leave queued in Redis
const QUEUED = 5000;
const qos1 = (i: number) => new Promise<void>((res) => a.gateway.broker.aedes.publish({ cmd: 'publish', topic: `alerts/soak/d${i % 50}`, payload: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(200) })), qos: 1, retain: false, dup: false }, () => res()));
for (let i = 0; i < QUEUED; i++) await qos1(i);
await sample(`consumer offline, ${QUEUED} QoS 1 queued`, sent, got);
for (let k = 1; k <= 3; k++) { await until(phaseS / 3); await sample(`consumer offline ${k}/3`, sent, got); }
running = false;
await Promise.all(loops);
await sample('publishing stopped', sent, got);
await until(ttl + 2);
await sample(`after packetTTL ${ttl}s`, sent, got);
const listKeys = await r.keys('outgoing:*');
for (const k of listKeys) console.log(JSON.stringify({ list: k, length: await r.llen(k) }));
cons = await connect(b.mqttPort, { username: 'apikey', password: ADMIN_TOKEN, clientId: 'soak-consumer', clean: false });
let after = 0;
cons.on('message', () => after++);
await until(3);
await sample(`consumer back (received ${after} of the queued)`, sent, got);
for (const k of await r.keys('outgoing:*')) console.log(JSON.stringify({ list: k, length: await r.llen(k) }));
await cons.endAsync();
for (const d of devs) d.c.end();
r.disconnect();
await a.stop(); await b.stop(); await redis.stop();
process.exit(0);
