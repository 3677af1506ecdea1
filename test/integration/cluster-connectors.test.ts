/**
 * Field connectors in a cluster (issue 15 item 6, docs/connectors.md): the same `connectors:`
 * section on two nodes, the wired simulators (a Modbus slave and two DTUs on real sockets), one
 * PostgreSQL. Only the leader polls; when it stops, the next leader connects and polls.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer } from 'node:net';
import YAML from 'yaml';
import { ADMIN_TOKEN, freePort, startGateway, type TestGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { connectorConfig, startWired } from '../../simulators/wired-fleet.js';

const canListen = (p: number) => new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(false));
  s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
});

let pg: Postgres;
let gws: TestGateway[] = [];
let wired: Awaited<ReturnType<typeof startWired>>;

beforeAll(async () => {
  let port: number;
  for (;;) {
    port = await freePort();
    if (port < 65000 && (await canListen(port + 1)) && (await canListen(port + 2))) break;
  }
  pg = await startPostgres();
  const url = await pg.createDatabase('cluster_connectors');
  const connectors = (YAML.parse(connectorConfig({ prefix: 'sim', host: '127.0.0.1', basePort: port })).connectors as Array<Record<string, unknown>>).map((c) => ({ ...c, pollS: 1 }));
  const cfg = (id: string) => ({ connectors, cluster: { nodeId: id, postgres: { url, heartbeatMs: 300, leaseMs: 1200 } } });
  gws = [await startGateway({ config: cfg('node-1') })];
  await eventually(() => gws[0]!.gateway.leadership.isLeader(), 10_000, 50);
  wired = await startWired({ http: gws[0]!.http, token: ADMIN_TOKEN, prefix: 'sim', site: 'jiangnan/sim-garden', host: '127.0.0.1', basePort: port, faults: [], seed: 1, log: () => undefined });
  // node 2 starts with the DTUs up: if it polled, it would connect at once
  gws.push(await startGateway({ config: cfg('node-2') }));
}, 90_000);

afterAll(async () => {
  for (const g of gws) await g.stop();
  await wired?.stop();
  await pg?.stop();
});

const statuses = async (g: TestGateway) => (await g.api('/api/v1/connectors')).body.items.map((i: { status: string }) => i.status);
const lastPh = async (g: TestGateway) => (await g.api('/api/v1/devices/sim-wired-wq-1/latest')).body?.readings?.ph?.ts as string | undefined;

it('only the leader polls; when it stops, the next leader connects and polls', async () => {
  const [n1, n2] = gws as [TestGateway, TestGateway];
  await eventually(async () => (await statuses(n1)).every((s: string) => s === 'connected'), 10_000, 100);
  const standby = (await n2.api('/api/v1/connectors')).body.items;
  expect(standby.map((i: { status: string; lastPollAt: string | null }) => [i.status, i.lastPollAt])).toEqual([['disconnected', null], ['disconnected', null], ['disconnected', null]]);
  // polled by node 1, queryable on node 2 (shared registry; readings in node 1's store here)
  await eventually(async () => (await lastPh(n1)) !== undefined, 10_000, 100);
  await new Promise((res) => setTimeout(res, 1000));
  expect((await n2.api('/api/v1/connectors')).body.items.every((i: { status: string; lastPollAt: string | null }) => i.status === 'disconnected' && i.lastPollAt === null)).toBe(true);

  await n1.stop();
  gws = [n2];
  await eventually(() => n2.gateway.leadership.isLeader(), 10_000, 50);
  await eventually(async () => (await statuses(n2)).every((s: string) => s === 'connected'), 10_000, 100);
  const first = await eventually(lastPh.bind(undefined, n2), 10_000, 100);
  await eventually(async () => { const t = await lastPh(n2); return t !== undefined && t > first; }, 10_000, 100);
}, 60_000);
