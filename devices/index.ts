/**
 * The model registry: every file in devices/ (one model each) is listed here once.
 * test/devices/registry.test.ts fails when a model file is missing from this list.
 */
import type { DeviceModel } from '../src/core/model.js';

import genericDoorAccess from './generic.door-access.js';
import genericParking from './generic.parking.js';
import genericWaterMeter from './generic.water-meter.js';
import genericElectricityMeter from './generic.electricity-meter.js';
import genericWaterQuality from './generic.water-quality.js';
import genericBinFill from './generic.bin-fill.js';

import milesightEm300Di from './milesight.em300-di.js';
import milesightEm310Udl from './milesight.em310-udl.js';
import milesightWs301 from './milesight.ws301.js';
import milesightCt101 from './milesight.ct101.js';
import draginoLds02 from './dragino.lds02.js';
import draginoLds03a from './dragino.lds03a.js';
import draginoLdds75 from './dragino.ldds75.js';
import browanTbdw100 from './browan.tbdw100.js';
import boschTps110 from './bosch.tps110.js';
import nwaveNps405 from './nwave.nps405.js';
import decentlabDlMbx from './decentlab.dl-mbx.js';
import decentlabDlPheht from './decentlab.dl-pheht.js';
import decentlabDlNtu from './decentlab.dl-ntu.js';
import decentlabDlCtd10 from './decentlab.dl-ctd10.js';
import decentlabDlOptod from './decentlab.dl-optod.js';
import dingtekDf702 from './dingtek.df702.js';
import dingtekDf703 from './dingtek.df703.js';
import dingtekDo201 from './dingtek.do201.js';
import kamstrupFlowiq2200 from './kamstrup.flowiq2200.js';
import adeunisPulse4 from './adeunis.pulse4.js';
import yobiiqEm4301 from './yobiiq.em4301.js';
import yobiiqIqDsmrLrw from './yobiiq.iq-dsmr-lrw.js';
import senml from './senml.js';
import quandifyCubicmeter from './quandify.cubicmeter.js';
import draginoSw3l from './dragino.sw3l.js';
import draginoDds75Lb from './dragino.dds75-lb.js';
import draginoWqsLb from './dragino.wqs-lb.js';
import dingtekDc410 from './dingtek.dc410.js';
import draginoLwl03a from './dragino.lwl03a.js';
import nwaveNps310sm from './nwave.nps310sm.js';
import milesightEm300Mcs from './milesight.em300-mcs.js';
import milesightEm300Zld from './milesight.em300-zld.js';
import netvoxR311a from './netvox.r311a.js';
import netvoxR718f from './netvox.r718f.js';
import netvoxR730f from './netvox.r730f.js';
import elsysEmsDoor from './elsys.ems-door.js';
import elsysEltUltrasonic from './elsys.elt-ultrasonic.js';
import genericModbusWaterQuality from './generic.modbus-water-quality.js';
import genericModbusMeter from './generic.modbus-meter.js';
import genericDlt645Meter from './generic.dlt645-meter.js';
import genericCjt188WaterMeter from './generic.cjt188-water-meter.js';
import sensecapSPh01 from './sensecap.s-ph-01.js';
import remondTurbidityRs485 from './remond.turbidity-rs485.js';

export const MODELS: readonly DeviceModel[] = [
  genericDoorAccess,
  genericParking,
  genericWaterMeter,
  genericElectricityMeter,
  genericWaterQuality,
  genericBinFill,
  milesightEm300Di,
  milesightEm310Udl,
  milesightWs301,
  milesightCt101,
  draginoLds02,
  draginoLds03a,
  draginoLdds75,
  browanTbdw100,
  boschTps110,
  nwaveNps405,
  decentlabDlMbx,
  decentlabDlPheht,
  decentlabDlNtu,
  decentlabDlCtd10,
  decentlabDlOptod,
  dingtekDf702,
  dingtekDf703,
  dingtekDo201,
  kamstrupFlowiq2200,
  adeunisPulse4,
  yobiiqEm4301,
  yobiiqIqDsmrLrw,
  senml,
  quandifyCubicmeter,
  draginoSw3l,
  draginoDds75Lb,
  draginoWqsLb,
  dingtekDc410,
  draginoLwl03a,
  nwaveNps310sm,
  milesightEm300Mcs,
  milesightEm300Zld,
  netvoxR311a,
  netvoxR718f,
  netvoxR730f,
  elsysEmsDoor,
  elsysEltUltrasonic,
  genericModbusWaterQuality,
  genericModbusMeter,
  genericDlt645Meter,
  genericCjt188WaterMeter,
  sensecapSPh01,
  remondTurbidityRs485,
];

const byId = new Map(MODELS.map((m) => [m.id, m]));
if (byId.size !== MODELS.length) throw new Error('device models: duplicate model id');

export function getModel(id: string): DeviceModel | undefined {
  return byId.get(id);
}
