/** A bare MQTT 3.1.1 CONNECT over a socket bound to a chosen local address (127.0.0.x), for tests of per-address limits. */
import { connect as netConnect } from 'node:net';
import { connectPacket } from '../../bench/mqtt-wire.js';

/** CONNECT and the CONNACK return code (undefined if the socket closed without one) */
export function rawConnect(port: number, localAddress: string, clientId: string, username: string, password: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: '127.0.0.1', port, localAddress }, () => sock.write(connectPacket({ clientId, username, password, keepalive: 60 })));
    let done = false;
    sock.on('data', (d) => {
      if (!done && d[0] === 0x20) { done = true; resolve(d[3]); sock.destroy(); }
    });
    sock.on('close', () => { if (!done) { done = true; resolve(undefined); } });
    sock.on('error', () => {});
  });
}
