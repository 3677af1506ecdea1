/**
 * The normalised vocabulary (shared/spec/VOCABULARY.md, extended in docs/vocabulary.md).
 * Every metric a decoder emits must be listed here: the unit, the value type and the
 * physically possible range come from this one table, so decoders only name metrics.
 */
export type MetricType = 'number' | 'boolean' | 'string';

export interface MetricDef {
  unit: string | null;
  type: MetricType;
  /** what the quantity can physically be; outside it a reading is a sensor fault */
  physical?: { min?: number; max?: number };
  /** cumulative counter: `delta` aggregation and regression checks apply */
  cumulative?: boolean;
  description: string;
}

const num = (unit: string, description: string, extra: Partial<MetricDef> = {}): MetricDef =>
  ({ unit, type: 'number', description, ...extra });
const bool = (description: string): MetricDef => ({ unit: null, type: 'boolean', description });

const base: Record<string, MetricDef> = {
  // every device
  battery_v: num('V', 'battery voltage', { physical: { min: 0, max: 60 } }),
  battery_pct: num('%EL', 'remaining battery, 0-100', { physical: { min: 0, max: 100 } }),
  temperature_c: num('Cel', 'device or medium temperature', { physical: { min: -273.15 } }),
  humidity_pct: num('%RH', 'relative humidity', { physical: { min: 0, max: 100 } }),
  rssi_dbm: num('dBm', 'RSSI of the best gateway of the uplink'),
  snr_db: num('dB', 'SNR of the best gateway of the uplink'),
  battery_low: bool('device-reported low-battery flag'),
  tamper: bool('device-reported tamper / installation alarm'),
  hardware_fault: bool('device-reported hardware error flag'),
  // door_access
  door_open: bool('door contact state (true = open)'),
  door_open_count: num('count', 'cumulative count of door openings reported by the device', { cumulative: true, physical: { min: 0 } }),
  door_open_duration_min: num('min', 'duration of the last door opening', { physical: { min: 0 } }),
  door_alarm: bool('device-reported door alarm (e.g. open longer than its configured time)'),
  // parking
  occupied: bool('parking bay occupied'),
  previous_state_duration_min: num('min', 'how long the bay was in its previous state', { physical: { min: 0 } }),
  vehicle_distance_mm: num('mm', 'ultrasonic distance from a parking sensor to the vehicle underside', { physical: { min: 0 } }),
  magnetic_x: num('count', 'geomagnetic field, x axis (raw)'),
  magnetic_y: num('count', 'geomagnetic field, y axis (raw)'),
  magnetic_z: num('count', 'geomagnetic field, z axis (raw)'),
  sensor_fault: bool('device-reported sensor fault bits (any set)'),
  distance_alarm: bool('parking sensor: the ultrasonic distance passed the threshold configured on the device (its detector sees a vehicle)'),
  magnetic_alarm: bool('parking sensor: the magnetic field change passed the threshold configured on the device (its detector sees a vehicle)'),
  // water_meter
  water_volume_m3: num('m3', 'cumulative volume index', { cumulative: true, physical: { min: 0 } }),
  water_flow_m3h: num('m3/h', 'volume flow'),
  pulse_count: num('count', 'raw cumulative pulses', { cumulative: true, physical: { min: 0 } }),
  leak: bool('meter-reported leak'),
  burst: bool('meter-reported burst'),
  reverse_flow: bool('meter-reported reverse flow'),
  meter_dry: bool('meter-reported dry (no water in the pipe)'),
  // electricity_meter
  energy_import_kwh: num('kWh', 'cumulative imported active energy, all tariffs summed', { cumulative: true, physical: { min: 0 } }),
  energy_export_kwh: num('kWh', 'cumulative exported active energy, all tariffs summed', { cumulative: true, physical: { min: 0 } }),
  power_w: num('W', 'active power'),
  voltage_v: num('V', 'voltage', { physical: { min: 0 } }),
  current_a: num('A', 'current', { physical: { min: 0 } }),
  current_max_a: num('A', 'maximum current in the reporting period', { physical: { min: 0 } }),
  current_min_a: num('A', 'minimum current in the reporting period', { physical: { min: 0 } }),
  current_alarm: bool('device-reported current threshold or over-range alarm'),
  // water_quality
  ph: num('pH', 'pH', { physical: { min: 0, max: 14 } }),
  turbidity_ntu: num('NTU', 'turbidity', { physical: { min: 0 } }),
  free_chlorine_mg_l: num('mg/l', 'residual (free) chlorine', { physical: { min: 0 } }),
  conductivity_us_cm: num('uS/cm', 'electrical conductivity', { physical: { min: 0 } }),
  tds_mg_l: num('mg/l', 'total dissolved solids', { physical: { min: 0 } }),
  orp_mv: num('mV', 'redox potential'),
  dissolved_oxygen_mg_l: num('mg/l', 'dissolved oxygen', { physical: { min: 0 } }),
  oxygen_saturation_pct: num('%', 'dissolved oxygen saturation', { physical: { min: 0 } }),
  water_depth_mm: num('mm', 'water depth / tank level'),
  // bin_fill
  distance_mm: num('mm', 'raw ultrasonic distance, sensor to surface', { physical: { min: 0 } }),
  fill_pct: num('%', 'fill level, 100 x (depth - distance) / depth, clamped to 0-100', { physical: { min: 0, max: 100 } }),
  tilt: bool('device-reported tilt'),
  tilt_angle_deg: num('deg', 'tilt angle reported by the device'),
  fire_alarm: bool('device-reported fire alarm'),
  full_alarm: bool('device-reported full alarm (the level passed the threshold configured on the device)'),
  // water leak sensors (Dragino LDS02 in leak mode)
  leak_count: num('count', 'cumulative count of water-leak detections reported by the device', { cumulative: true, physical: { min: 0 } }),
  leak_duration_min: num('min', 'duration of the last water leak', { physical: { min: 0 } }),
  // models added for issue 12 (Quandify CubicMeter, Dragino SW3L/DDS75-LB/LWL03A, Dingtek DC410)
  water_temperature_min_c: num('Cel', 'lowest water temperature since the previous report', { physical: { min: -273.15 } }),
  water_temperature_max_c: num('Cel', 'highest water temperature since the previous report', { physical: { min: -273.15 } }),
  water_volume_period_m3: num('m3', 'volume since the previous report (meters in per-interval mode), not an index', { physical: { min: 0 } }),
  distance_2_mm: num('mm', 'ultrasonic distance of a second probe, sensor to surface', { physical: { min: 0 } }),
  distance_3_mm: num('mm', 'ultrasonic distance of a third probe, sensor to surface', { physical: { min: 0 } }),
  level_alarm: bool('device-reported level alarm (surface nearer than its configured threshold: full / overflow)'),
  leak_alarm: bool('device-reported leak alarm (a leak lasting longer than its configured time)'),
  current_total_ah: num('Ah', 'cumulative current over time counted by a current transformer (ampere-hours)', { cumulative: true, physical: { min: 0 } }),
  temperature_alarm: bool('device-reported temperature threshold alarm'),
  pulse_count_b: num('count', 'raw cumulative pulses of a counter\'s second input (channel B)', { cumulative: true, physical: { min: 0 } }),
  water_volume_target_m3: num('m3', 'volume index at the meter\'s billing (target) date, stamped with that date', { cumulative: true, physical: { min: 0 } }),
  ambient_temperature_c: num('Cel', 'temperature around the device (a meter\'s ambient sensor), not the medium', { physical: { min: -273.15 } }),
  reactive_energy_import_kvarh: num('kvarh', 'cumulative imported reactive energy, all tariffs summed', { cumulative: true, physical: { min: 0 } }),
  reactive_energy_export_kvarh: num('kvarh', 'cumulative exported reactive energy, all tariffs summed', { cumulative: true, physical: { min: 0 } }),
  reactive_energy_import_t1_kvarh: num('kvarh', 'cumulative imported reactive energy, tariff 1', { cumulative: true, physical: { min: 0 } }),
  reactive_energy_import_t2_kvarh: num('kvarh', 'cumulative imported reactive energy, tariff 2', { cumulative: true, physical: { min: 0 } }),
  reactive_energy_export_t1_kvarh: num('kvarh', 'cumulative exported reactive energy, tariff 1', { cumulative: true, physical: { min: 0 } }),
  reactive_energy_export_t2_kvarh: num('kvarh', 'cumulative exported reactive energy, tariff 2', { cumulative: true, physical: { min: 0 } }),
  // wired meters (CJ/T 188-2004 water meters)
  water_volume_settlement_m3: num('m3', 'cumulative volume index at the last settlement day (meter-kept)', { cumulative: true, physical: { min: 0 } }),
  valve_open: bool('meter-reported valve state (true = open)'),
  valve_fault: bool('meter-reported valve fault (stuck between open and closed)'),
};

// per-tariff and per-phase names (VOCABULARY.md: energy_import_t1_kwh …, voltage_l1_v …)
for (const t of [1, 2, 3, 4]) {
  base[`energy_import_t${t}_kwh`] = num('kWh', `cumulative imported active energy, tariff ${t}`, { cumulative: true, physical: { min: 0 } });
  base[`energy_export_t${t}_kwh`] = num('kWh', `cumulative exported active energy, tariff ${t}`, { cumulative: true, physical: { min: 0 } });
}
for (const l of [1, 2, 3]) {
  base[`voltage_l${l}_v`] = num('V', `voltage, phase L${l}`, { physical: { min: 0 } });
  base[`current_l${l}_a`] = num('A', `current, phase L${l}`, { physical: { min: 0 } });
  base[`power_l${l}_w`] = num('W', `active power, phase L${l}`);
}

export const VOCABULARY: Readonly<Record<string, MetricDef>> = Object.freeze(base);

export function metricDef(metric: string): MetricDef | undefined {
  return Object.prototype.hasOwnProperty.call(VOCABULARY, metric) ? VOCABULARY[metric] : undefined;
}

export const DEVICE_KINDS = ['door_access', 'parking', 'water_meter', 'electricity_meter', 'water_quality', 'bin_fill'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Event types (VOCABULARY.md): discrete happenings, stored in their own table. */
export const EVENT_TYPES = ['access_granted', 'access_denied', 'door_forced', 'door_held_open', 'tamper', 'arrival', 'departure', 'device_info'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
