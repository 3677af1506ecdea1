/** The wire codecs of the field connectors against frames published by others. */
import { describe, expect, it } from 'vitest';
import { RegisterSchema, crc16, mbapReadRequest, matchRtuResponse, planReads, registerValue, rtuReadRequest, parseImage, matchMbapResponse } from '../../../devices/lib/modbus.js';
import { dlt645Frame, dlt645ReadRequest, parseDlt645Frames, scanDlt645 } from '../../../devices/lib/dlt645.js';
import { cjt188Frame, cjt188ReadRequest, scanCjt188 } from '../../../devices/lib/cjt188.js';
import { bcdLe, toBcdLe } from '../../../devices/lib/bcd.js';
import { getModel } from '../../../devices/index.js';
import { DecodeError } from '../../../src/core/model.js';

const regs = (list: unknown[]) => list.map((r) => RegisterSchema.parse(r));

describe('Modbus', () => {
  it('builds the read request every Modbus text prints: 01 03 00 00 00 02 C4 0B', () => {
    expect(rtuReadRequest(1, { function: 'holding', start: 0, count: 2 }).toString('hex')).toBe('010300000002c40b');
    expect(crc16(Buffer.from('010300000002', 'hex'))).toBe(0x0bc4);
    expect(mbapReadRequest(0x1234, 7, { function: 'input', start: 0x10, count: 3 }).toString('hex')).toBe('12340000000607040010' + '0003');
  });

  it('batches adjacent registers of one function, never across gaps, within the count limit', () => {
    const r = regs([
      { metric: 'ph', address: 0 }, { metric: 'turbidity_ntu', address: 1, type: 'float32' }, { metric: 'free_chlorine_mg_l', address: 3 },
      { metric: 'tds_mg_l', address: 5 }, { metric: 'temperature_c', address: 3, function: 'input' }, { metric: 'orp_mv', address: 4, function: 'input', type: 'int16' },
    ]);
    expect(planReads(r)).toEqual([
      { function: 'holding', start: 0, count: 4 }, { function: 'holding', start: 5, count: 1 }, { function: 'input', start: 3, count: 2 },
    ]);
    expect(planReads(r, 2)).toEqual([
      { function: 'holding', start: 0, count: 1 }, { function: 'holding', start: 1, count: 2 }, { function: 'holding', start: 3, count: 1 },
      { function: 'holding', start: 5, count: 1 }, { function: 'input', start: 3, count: 2 },
    ]);
    const many = regs(Array.from({ length: 130 }, (_, i) => ({ metric: i % 2 ? 'ph' : 'orp_mv', address: i })).map((x, i) => ({ ...x, metric: ['ph', 'orp_mv', 'tds_mg_l'][i % 3] })));
    expect(planReads(many).map((b) => b.count)).toEqual([125, 5]);
  });

  it('reads the types with both word orders and scales', () => {
    const image = parseImage(Buffer.from('03000008' + '3f800000' + '00003f80', 'hex'));
    expect(registerValue(image, regs([{ metric: 'ph', address: 0, type: 'float32' }])[0]!)).toBe(1);
    expect(registerValue(image, regs([{ metric: 'ph', address: 2, type: 'float32', wordOrder: 'little' }])[0]!)).toBe(1);
    const ints = parseImage(Buffer.from('04000008' + 'ffff' + 'fffe' + '0001' + '0000', 'hex'));
    expect(registerValue(ints, regs([{ metric: 'orp_mv', address: 0, function: 'input', type: 'int32' }])[0]!)).toBe(-2);
    expect(registerValue(ints, regs([{ metric: 'orp_mv', address: 0, function: 'input', type: 'uint32', scale: 0.1 }])[0]!)).toBe(429496729.4);
    expect(registerValue(ints, regs([{ metric: 'orp_mv', address: 2, function: 'input', type: 'uint32', wordOrder: 'little' }])[0]!)).toBe(1);
    expect(registerValue(ints, regs([{ metric: 'orp_mv', address: 0, function: 'input', type: 'int16', scale: 0.5, offset: 10 }])[0]!)).toBe(9.5);
  });

  it('matches RTU answers by unit, function, length and CRC; exceptions come back as exceptions', () => {
    const block = { function: 'holding' as const, start: 0, count: 2 };
    const answer = Buffer.from('01030403b600235a48', 'hex'); // what pymodbus' RTU framer sent for 950, 35
    expect(matchRtuResponse(answer.subarray(0, 5), 1, block)).toEqual({ kind: 'incomplete' });
    expect(matchRtuResponse(answer, 1, block)).toEqual({ kind: 'data', data: Buffer.from('03b60023', 'hex'), length: 9 });
    const bad = Buffer.from(answer); bad[4] = bad[4]! ^ 1;
    expect(matchRtuResponse(bad, 1, block)).toMatchObject({ kind: 'invalid', reason: 'CRC mismatch' });
    const ex = Buffer.from([0x01, 0x83, 0x02, 0, 0]);
    ex.writeUInt16LE(crc16(ex.subarray(0, 3)), 3);
    expect(matchRtuResponse(ex, 1, block)).toEqual({ kind: 'exception', code: 2, length: 5 });
    expect(matchRtuResponse(answer, 2, block)).toMatchObject({ kind: 'invalid', reason: 'answer from unit 1, asked unit 2' });
    expect(matchMbapResponse(Buffer.from('00070000000701030403b60023', 'hex'), 8, 1, block)).toMatchObject({ kind: 'invalid', reason: 'stale transaction 7' });
  });

  it('refuses register maps that name unknown or non-numeric metrics or run past 65535', () => {
    expect(RegisterSchema.safeParse({ metric: 'no_such', address: 0 }).success).toBe(false);
    expect(RegisterSchema.safeParse({ metric: 'valve_open', address: 0 }).success).toBe(false);
    expect(RegisterSchema.safeParse({ metric: 'ph', address: 65535, type: 'float32' }).success).toBe(false);
    expect(RegisterSchema.safeParse({ metric: 'ph', address: 0, scale: 0 }).success).toBe(false);
  });
});

describe('DL/T 645-2007', () => {
  it('frames the broadcast read-address request every DL/T 645 text prints: 68 AA AA AA AA AA AA 68 13 00 DF 16', () => {
    expect(dlt645Frame(Buffer.alloc(6, 0xaa), 0x13, Buffer.alloc(0), false).toString('hex')).toBe('68aaaaaaaaaaaa681300df16');
  });

  it('reverses the address and adds 0x33 to the data identifier', () => {
    // meter 123456789012 -> A0..A5 = 12 90 78 56 34 12; DI 00 01 FF 00 -> 00 FF 01 00 + 33 = 33 32 34 33
    expect(dlt645ReadRequest('123456789012', 0x0001ff00).toString('hex')).toBe('fefefefe' + '68129078563412' + '68' + '11' + '04' + '33323433' + '67' + '16');
    const [f] = parseDlt645Frames(dlt645ReadRequest('123456789012', 0x0001ff00));
    expect(f).toMatchObject({ address: '123456789012', control: 0x11 });
    expect(f!.data.readUInt32LE(0)).toBe(0x0001ff00);
  });

  it('finds frame boundaries past the preamble and noise, for the link', () => {
    const frame = dlt645ReadRequest('123456789012', 0x02010100);
    expect(scanDlt645(frame.subarray(0, 10))).toEqual({ kind: 'incomplete' });
    expect(scanDlt645(frame)).toEqual({ kind: 'frame', start: 4, length: frame.length - 4 });
    expect(scanDlt645(Buffer.from('fefe00', 'hex'))).toEqual({ kind: 'garbage', skip: 3 });
  });

  it('reads BCD with the sign bit of currents and powers', () => {
    expect(bcdLe(Buffer.from('233580', 'hex'), 'x', true)).toBe(-3523); // 80 35 23: sign bit, 00 35 23
    expect(bcdLe(Buffer.from('233579', 'hex'), 'x', true)).toBe(793523);
    expect(toBcdLe(-3523, 3, true).toString('hex')).toBe('233580');
    expect(() => bcdLe(Buffer.from('1a', 'hex'), 'x')).toThrow(DecodeError);
    expect(() => toBcdLe(800000, 3, true)).toThrow(RangeError);
  });
});

describe('CJ/T 188-2004', () => {
  it('frames the read-data request as a public tool tested on a DN15 meter does (checksum 3D), DI sent 1F 90', () => {
    // python_cjt188's own self-test: 68 10 12 00 00 00 00 00 00 01 03 90 1f 00 3d 16 (DI written high byte first there)
    expect(cjt188Frame(0x10, Buffer.from('12000000000000', 'hex'), 0x01, Buffer.from('901f00', 'hex'), false).toString('hex')).toBe('68101200000000000001039' + '01f003d16');
    expect(cjt188ReadRequest('00000000000012').toString('hex')).toBe('fefefe' + '6810120000000000000103' + '1f9000' + '3d16');
  });

  it('finds frame boundaries', () => {
    const f = cjt188ReadRequest('00000000000012');
    expect(scanCjt188(f)).toEqual({ kind: 'frame', start: 3, length: f.length - 3 });
    expect(scanCjt188(f.subarray(0, 12))).toEqual({ kind: 'incomplete' });
  });
});

describe('wired models decode with the device attributes', () => {
  it('checks the meter address only when the device has one', () => {
    const m = getModel('generic.dlt645-meter')!;
    const other = Buffer.from('6813907856341268910633343435cb550e16', 'hex');
    expect(m.decode({ payload: other, receivedAt: 0 }).readings).toEqual([{ metric: 'voltage_v', value: 229.8 }]);
    expect(() => m.decode({ payload: other, receivedAt: 0, attributes: { meterAddress: '123456789012' } })).toThrow(/answer from meter 123456789013/);
    expect(() => m.decode({ payload: other, receivedAt: 0, attributes: { meterAddress: '12345678901' } })).toThrow(/attributes.meterAddress/);
  });

  it('plans a poll from the attributes, and says which attribute is wrong', () => {
    const wq = getModel('generic.modbus-water-quality')!;
    expect(wq.wired!.plan({ unitId: 4, registers: [{ metric: 'ph', address: 0 }, { metric: 'temperature_c', address: 1, type: 'int16' }] }, { maxRegisters: 125 }))
      .toEqual({ protocol: 'modbus', unitId: 4, blocks: [{ function: 'holding', start: 0, count: 2 }] });
    expect(() => wq.wired!.plan({ registers: [{ metric: 'ph', address: 0, type: 'double' }] }, { maxRegisters: 125 })).toThrow(/attributes\.registers\.0\.type/);
    expect(() => wq.wired!.plan({ unitId: 300, registers: [{ metric: 'ph', address: 0 }] }, { maxRegisters: 125 })).toThrow(/attributes\.unitId/);
    expect(getModel('generic.dlt645-meter')!.wired!.plan({ meterAddress: '000000000001', phases: 3 }, { maxRegisters: 125 }))
      .toEqual({ protocol: 'dlt645', meterAddress: '000000000001', dataIds: [0x0001ff00, 0x0201ff00, 0x0202ff00, 0x0203ff00] });
    expect(() => getModel('generic.cjt188-water-meter')!.wired!.plan({}, { maxRegisters: 125 })).toThrow(/meterAddress: required/);
  });
});
