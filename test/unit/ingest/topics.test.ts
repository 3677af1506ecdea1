/**
 * parseTopic's device fast path (no split) against the split-based reading of CONTRACT
 * "Uplink topics" it replaced, on every topic shape near the device one.
 */
import { describe, expect, it } from 'vitest';
import { parseTopic, type Route } from '../../../src/ingest/topics.js';

/** the reading before the fast path, kept here as the reference */
function bySplit(topic: string): Route | undefined {
  const p = topic.split('/');
  if (p[0] === 'devices' && p[2] === 'up' && p[1] && (p.length === 3 || p.length === 4)) {
    if (p.length === 3) return { kind: 'device', deviceId: p[1] };
    if (!/^\d{1,3}$/.test(p[3]!) || Number(p[3]) > 255) return undefined;
    return { kind: 'device', deviceId: p[1], port: Number(p[3]) };
  }
  if (p.length === 5 && p[0] === 'v3' && p[2] === 'devices' && p[4] === 'up' && p[1] && p[3]) return { kind: 'envelope', format: 'ttn-v3', deviceId: p[3] };
  if (p.length === 6 && p[0] === 'application' && p[2] === 'device' && p[4] === 'event' && p[5] === 'up' && p[1] && p[3]) return { kind: 'envelope', format: 'chirpstack-v4', devEui: p[3] };
  return undefined;
}

const ids = ['bin-001', 'x', '电表-7', '+', '#', '', 'a b', 'up', 'devices'];
const tails = ['', '/up', '/up/', '/up/0', '/up/7', '/up/255', '/up/256', '/up/007', '/up/1000', '/up/-1', '/up/1.5', '/up/1/2', '/upx', '/u', '/UP', '/up/ 1', '/down', '/up/x', '//up', '/status'];

describe('parseTopic', () => {
  it('reads every device topic shape as the split-based reading does', () => {
    let routes = 0;
    for (const prefix of ['devices/', 'devices', 'Devices/', 'devices//', '/devices/']) {
      for (const id of ids) {
        for (const tail of tails) {
          const topic = `${prefix}${id}${tail}`;
          expect(parseTopic(topic), topic).toEqual(bySplit(topic));
          if (parseTopic(topic)) routes++;
        }
      }
    }
    expect(routes).toBeGreaterThan(30);
    expect(parseTopic('devices/bin-001/up/12')).toEqual({ kind: 'device', deviceId: 'bin-001', port: 12 });
  });

  it('still reads the network servers\' topics', () => {
    expect(parseTopic('v3/app@tenant/devices/dev-1/up')).toEqual({ kind: 'envelope', format: 'ttn-v3', deviceId: 'dev-1' });
    expect(parseTopic('application/app/device/0102030405060708/event/up')).toEqual({ kind: 'envelope', format: 'chirpstack-v4', devEui: '0102030405060708' });
  });
});
