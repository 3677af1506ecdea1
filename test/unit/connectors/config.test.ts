/** Config `connectors`: strict, with errors naming the key (CONTRACT: one clear line, exit 2). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { tempDir } from '../../helpers/gateway.js';

function load(connectors: unknown) {
  const dir = tempDir('gw-conn-config-');
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify({ connectors }));
  return loadConfig({ GATEWAY_CONFIG: file }, dir);
}

describe('config connectors', () => {
  it('takes the CONTRACT example with defaults', () => {
    const c = load([{ name: 'tank-room', type: 'modbus-tcp', host: '127.0.0.1', port: 502, pollS: 30, timeoutMs: 1000 }]);
    expect(c.connectors).toEqual([{ name: 'tank-room', type: 'modbus-tcp', host: '127.0.0.1', port: 502, pollS: 30, timeoutMs: 1000, maxRegisters: 125, requestGapMs: 0, reconnectMaxMs: 30_000 }]);
    expect(load(undefined).connectors).toEqual([]);
  });

  it.each([
    [[{ name: 'a', type: 'modbus-udp', host: 'h', port: 502 }], /connectors\.0\.type: /],
    [[{ name: 'a', type: 'dlt645-tcp', host: 'h' }], /connectors\.0\.port: /],
    [[{ name: 'a', type: 'dlt645-tcp', host: 'h', port: 70000 }], /connectors\.0\.port: /],
    [[{ name: 'a b', type: 'cjt188-tcp', host: 'h', port: 1 }], /connectors\.0\.name: letters, digits/],
    [[{ name: 'a', type: 'cjt188-tcp', host: 'h', port: 1, pollS: 0 }], /connectors\.0\.pollS: /],
    [[{ name: 'a', type: 'cjt188-tcp', host: 'h', port: 1, baud: 2400 }], /connectors\.0: .*baud/],
    [[{ name: 'a', type: 'cjt188-tcp', host: 'h', port: 1 }, { name: 'a', type: 'modbus-tcp', host: 'h', port: 2 }], /connectors\.1\.name: duplicate connector name a/],
  ])('refuses %j naming the key', (connectors, message) => {
    expect(() => load(connectors)).toThrow(ConfigError);
    expect(() => load(connectors)).toThrow(message);
  });
});
