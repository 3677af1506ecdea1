/** `npm run simulate -- --wired <port>`: the wired simulators, provisioned and polled by a gateway's connectors. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, freePort, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connectorConfig, startWired } from '../../simulators/wired-fleet.js';
import YAML from 'yaml';
import { createServer } from 'node:net';

const canListen = (p: number) => new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(false));
  s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
});

let gw: TestGateway;
let wired: Awaited<ReturnType<typeof startWired>>;
let port = 0;

beforeAll(async () => {
  // three consecutive free ports: port, port + 1, port + 2
  for (;;) {
    port = await freePort();
    if (port < 65000 && (await canListen(port + 1)) && (await canListen(port + 2))) break;
  }
  const printed = YAML.parse(connectorConfig({ prefix: 'sim', host: '127.0.0.1', basePort: port })).connectors as Array<Record<string, unknown>>;
  gw = await startGateway({ config: { connectors: printed.map((c) => ({ ...c, pollS: 1 })) } });
  wired = await startWired({ http: gw.http, token: ADMIN_TOKEN, prefix: 'sim', site: 'jiangnan/sim-garden', host: '127.0.0.1', basePort: port, faults: [], seed: 1, log: () => undefined });
});
afterAll(async () => {
  await gw?.stop();
  await wired?.stop();
});

it('every simulated wired device is polled into readings', async () => {
  const want: Record<string, string> = {
    'sim-wired-wq-1': 'ph', 'sim-wired-ph-2': 'ph', 'sim-wired-em-3': 'energy_import_kwh', 'sim-wired-dlt645-1': 'energy_import_kwh', 'sim-wired-cjt188-1': 'water_volume_m3',
  };
  const deadline = Date.now() + 15_000;
  const missing = new Set(Object.keys(want));
  while (missing.size > 0 && Date.now() < deadline) {
    for (const id of [...missing]) {
      const r = await gw.api(`/api/v1/devices/${id}/latest`);
      if (r.body?.readings?.[want[id]!]) missing.delete(id);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  expect([...missing]).toEqual([]);
  const c = await gw.api('/api/v1/connectors');
  expect(c.body.items.map((i: any) => [i.name, i.status])).toEqual([['sim-cjt188', 'connected'], ['sim-dlt645', 'connected'], ['sim-modbus', 'connected']]);
  for (const i of c.body.items) for (const d of i.devices) expect(d.lastError, d.id).toBeNull();
});
