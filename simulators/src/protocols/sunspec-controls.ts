import { SET_INVERTER_STATE, SET_OPERATION, SET_STRING_CONNECT, SET_STRING_ENABLE } from "@bms/shared/sunspec/models";
import type { SimulatedDevice } from "../simulated-device";

/**
 * What a controller has written to a simulated BMS's SunSpec control points, per device (so the
 * TCP and RTU servers of one device agree). The simulated pack does not act on these yet: its
 * contactor follows its own protection only. The settings are kept and read back, so a controller
 * sees its command was accepted; AlmRst alone acts (it clears latched alarms at once).
 */
export interface SunSpecControls {
  /** 802 SetOp: the last operation requested. @default CONNECT */
  setOperation: number;
  /** 802 SetInvState: the inverter state the controller reported. @default INVERTER_STARTED (the simulated site's inverter runs) */
  setInverterState: number;
  /** 802 CtrlHb: the controller's heartbeat as last written. @default 0 */
  controllerHeartbeat: number;
  /** 802 SocRsvMax: the highest SOC the site keeps, %. @default 95 */
  socReserveMax: number;
  /** 802 SoCRsvMin: the reserve the site keeps, %. @default 10 */
  socReserveMin: number;
  /** Per string: 803 StrSetEna / 804 SetEna and 803 StrSetCon / 804 SetCon. @default ENABLE_STRING, CONNECT_STRING */
  strings: { enable: number; connect: number }[];
}

export function defaultControls(strings: number): SunSpecControls {
  return {
    setOperation: SET_OPERATION.CONNECT,
    setInverterState: SET_INVERTER_STATE.INVERTER_STARTED,
    controllerHeartbeat: 0,
    socReserveMax: 95,
    socReserveMin: 10,
    strings: Array.from({ length: strings }, () => ({ enable: SET_STRING_ENABLE.ENABLE_STRING, connect: SET_STRING_CONNECT.CONNECT_STRING })),
  };
}

const byDevice = new WeakMap<SimulatedDevice, SunSpecControls>();

/** The device's control settings (created with the defaults on first use). */
export function controlsOf(device: SimulatedDevice, strings: number): SunSpecControls {
  let controls = byDevice.get(device);
  if (!controls) {
    controls = defaultControls(strings);
    byDevice.set(device, controls);
  }
  while (controls.strings.length < strings) controls.strings.push(...defaultControls(1).strings);
  return controls;
}
