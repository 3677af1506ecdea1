/**
 * Simulated wired devices for the field connectors:
 * - a Modbus TCP slave (modbus-serial's ServerTCP: someone else's Modbus implementation,
 *   so the gateway's framing is checked against it) serving register maps per unit id;
 * - a transparent DTU with DL/T 645-2007 electricity meters on its "bus", and one with
 *   CJ/T 188-2004 water meters: TCP servers that read the serial frames a master sends and
 *   answer as the addressed meter would (or not at all, for a meter that is silent).
 * Faults per meter: a bad checksum, an answer from the wrong address, an abnormal answer,
 * silence, and no wake-up preamble.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import { RegisterSchema, encodeRegister, type Register } from '../devices/lib/modbus.js';
import { dlt645ErrorAnswer, parseDlt645Frames, scanDlt645 } from '../devices/lib/dlt645.js';
import { cjt188ReadAnswer, parseCjt188Frames, scanCjt188 } from '../devices/lib/cjt188.js';
import { dlt645PollAnswer } from './encoders/wired.js';
import { dlt645ReadAnswer } from '../devices/lib/dlt645.js';
import type { SimValues } from './encoders/types.js';


export type MeterFault = 'none' | 'checksum' | 'address' | 'error' | 'silent' | 'no-preamble';

export interface ModbusUnit {
  registers: Register[];
  values: SimValues;
  /** answer every read with this exception code (0x04 device failure …) */
  exception?: number;
}

/** A Modbus TCP slave with units; values can be changed while it runs. */
export async function startModbusSlave(units: Map<number, ModbusUnit>, port: number, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const word = (unitId: number, fc: 3 | 4, address: number): number => {
    const unit = units.get(unitId);
    if (!unit) throw Object.assign(new Error('no such unit'), { modbusErrorCode: 0x0b });
    if (unit.exception) throw Object.assign(new Error('fault'), { modbusErrorCode: unit.exception });
    for (const r of unit.registers) {
      if ((fc === 3) !== (r.function === 'holding')) continue;
      const words = encodeRegister(r, unit.values[r.metric] as number);
      if (address >= r.address && address < r.address + words.length) return words[address - r.address]!;
    }
    throw Object.assign(new Error('illegal address'), { modbusErrorCode: 0x02 });
  };
  const vector = {
    getHoldingRegister: (addr: number, unitID: number) => word(unitID, 3, addr),
    getInputRegister: (addr: number, unitID: number) => word(unitID, 4, addr),
    getMultipleHoldingRegisters: (addr: number, length: number, unitID: number) => Array.from({ length }, (_, i) => word(unitID, 3, addr + i)),
    getMultipleInputRegisters: (addr: number, length: number, unitID: number) => Array.from({ length }, (_, i) => word(unitID, 4, addr + i)),
  };
  const server = new ServerTCP(vector, { host, port, unitID: 255 });
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', (err) => reject(err));
  });
  server.on('socketError', () => { /* a client went away */ });
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

export interface SimMeter {
  values: SimValues;
  fault: MeterFault;
}

function dtu(port: number, host: string, answer: (frame: Buffer) => Buffer | undefined, scan: typeof scanDlt645): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let rx = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      rx = Buffer.concat([rx, chunk]);
      for (;;) {
        const s = scan(rx);
        if (s.kind === 'incomplete') return;
        if (s.kind === 'garbage') { rx = rx.subarray(s.skip); continue; }
        const frame = rx.subarray(s.start, s.start + s.length);
        rx = rx.subarray(s.start + s.length);
        let out: Buffer | undefined;
        try { out = answer(frame); } catch { out = undefined; } // a frame no meter takes: the bus stays quiet
        // a meter at 2400 baud answers after some tens of ms
        if (out) setTimeout(() => socket.writable && socket.write(out), 20);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({
      port: (server.address() as { port: number }).port,
      close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
    }));
  });
}

const flipChecksum = (frame: Buffer) => { const f = Buffer.from(frame); f[f.length - 2] = (f[f.length - 2]! + 1) & 0xff; return f; };
const otherAddress = (a: string) => a.slice(0, -1) + ((Number.parseInt(a.slice(-1), 16) + 1) % 10).toString();

/** A DTU with DL/T 645-2007 meters (address -> meter) answering read-data requests. */
export function startDlt645Dtu(meters: Map<string, SimMeter>, port: number, host = '127.0.0.1') {
  return dtu(port, host, (frame) => {
    const [req] = parseDlt645Frames(frame);
    if (!req || req.control !== 0x11 || req.data.length !== 4) return undefined;
    const meter = meters.get(req.address);
    if (!meter || meter.fault === 'silent') return undefined;
    if (meter.fault === 'error') return dlt645ErrorAnswer(req.address, 0x02);
    const di = req.data.readUInt32LE(0);
    const address = meter.fault === 'address' ? otherAddress(req.address) : req.address;
    // the whole single-phase poll answer, cut to the frame of this DI
    const all = dlt645PollAnswer(address, meter.values, meter.fault !== 'no-preamble');
    const frames: Buffer[] = [];
    for (let rest = all; rest.length > 0;) {
      const s = scanDlt645(rest);
      if (s.kind !== 'frame') break;
      frames.push(rest.subarray(0, s.start + s.length));
      rest = rest.subarray(s.start + s.length);
    }
    const dis = [0x0001ff00, 0x02010100, 0x02020100, 0x02030000];
    let out = frames[dis.indexOf(di)];
    if (!out) out = dlt645ErrorAnswer(req.address, 0x02);
    if (meter.fault === 'checksum') out = flipChecksum(out);
    return out;
  }, scanDlt645);
}

/** A DTU with CJ/T 188-2004 water meters answering read data 901F. */
export function startCjt188Dtu(meters: Map<string, SimMeter>, port: number, host = '127.0.0.1') {
  return dtu(port, host, (frame) => {
    const [req] = parseCjt188Frames(frame);
    if (!req || req.control !== 0x01) return undefined;
    const meter = meters.get(req.address);
    if (!meter || meter.fault === 'silent') return undefined;
    const v = meter.values;
    const address = meter.fault === 'address' ? otherAddress(req.address) : req.address;
    let out = cjt188ReadAnswer(address, {
      water_volume_m3: v.water_volume_m3 as number, water_volume_settlement_m3: v.water_volume_settlement_m3 as number,
      valve_open: v.valve_open !== false, valve_fault: false, battery_low: v.battery_low === true,
    }, { type: req.type, ser: req.data[2], preamble: meter.fault !== 'no-preamble' });
    if (meter.fault === 'checksum') out = flipChecksum(out);
    return out;
  }, scanCjt188);
}

export { RegisterSchema, dlt645ReadAnswer };
