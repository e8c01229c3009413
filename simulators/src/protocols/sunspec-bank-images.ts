import type { ModelImage } from "@bms/shared/sunspec/model-encoder";
import { MODEL_LITHIUM_BANK, type MODEL_LITHIUM_MODULE, MODEL_LITHIUM_STRING, SET_STRING_ENABLE, STRING_STATUS_BITS } from "@bms/shared/sunspec/models";
import { namedBits } from "@bms/shared/sunspec/register-codec";
import type { PackSnapshot } from "../pack-model";
import type { PackIdentity } from "../simulated-device";
import type { PackTopology } from "./pack-topology";
import { nameplateOf, scaleChoices } from "./sunspec-battery-images";
import type { SunSpecControls } from "./sunspec-controls";
import { cellsPerString, extremes, modulePosition, moduleTemperatures, ofModule, ofString, stringCurrents, stringVoltages, sum } from "./sunspec-pack-geometry";

/** 803 StrConFail / 804 ConFail: why a string's contactor is open. */
const CONNECTION_FAILURE = { NO_FAILURE: 0, STRING_FAULT: 8 } as const;
/** 803 StrDisRsn. */
const DISABLED_REASON = { NONE: 0, EXTERNAL: 3 } as const;

/** One string's cells and modules, as 803 Str* points and 804 tell them (module and cell indexes 1-based). */
function stringSummary(pack: PackSnapshot, topology: PackTopology, s: number) {
  const cellV = extremes(ofString(topology, pack.cellVoltages, s));
  const moduleOf = (cellIndex: number) => Math.floor(cellIndex / topology.cellsPerModule) + 1;
  const modT = extremes(moduleTemperatures(topology, pack).slice(s * topology.modulesPerString, (s + 1) * topology.modulesPerString));
  return { cellV, cellVMaxMod: moduleOf(cellV.maxIndex), cellVMinMod: moduleOf(cellV.minIndex), modT };
}

/** One string's status, as 803 StrSt/StrConFail/StrConSt and 804 St/ConFail/ConSt tell it. */
function stringStatus(pack: PackSnapshot, controls: SunSpecControls, s: number) {
  const enabled = controls.strings[s]?.enable !== SET_STRING_ENABLE.DISABLE_STRING;
  const closed = pack.contactorClosed;
  return {
    status: ((enabled ? 1 : 0) << STRING_STATUS_BITS.STRING_ENABLED) | ((closed ? 1 : 0) << STRING_STATUS_BITS.CONTACTOR_STATUS),
    // A tripped protection opens the string's contactor: a string fault.
    failure: closed ? CONNECTION_FAILURE.NO_FAILURE : CONNECTION_FAILURE.STRING_FAULT,
    disabledReason: enabled ? DISABLED_REASON.NONE : DISABLED_REASON.EXTERNAL,
    // One contactor per string: bit 0 of the contactor status.
    contactors: closed ? 1 : 0,
  };
}

/** Model 803: the bank's strings side by side, string currents from the snapshot. */
export function bankImage(pack: PackSnapshot, topology: PackTopology, controls: SunSpecControls): ModelImage<typeof MODEL_LITHIUM_BANK> {
  const modT = extremes(moduleTemperatures(topology, pack));
  const strV = extremes(stringVoltages(topology, pack));
  const amps = stringCurrents(topology, pack);
  const strA = extremes(amps);
  return {
    points: {
      NStr: topology.strings,
      NStrCon: pack.contactorClosed ? topology.strings : 0,
      ModTmpMax: modT.max,
      ModTmpMaxStr: modulePosition(topology, modT.maxIndex).string,
      ModTmpMaxMod: modulePosition(topology, modT.maxIndex).module,
      ModTmpMin: modT.min,
      ModTmpMinStr: modulePosition(topology, modT.minIndex).string,
      ModTmpMinMod: modulePosition(topology, modT.minIndex).module,
      ModTmpAvg: modT.avg,
      StrVMax: strV.max,
      StrVMaxStr: strV.maxIndex + 1,
      StrVMin: strV.min,
      StrVMinStr: strV.minIndex + 1,
      StrVAvg: strV.avg,
      StrAMax: strA.max,
      StrAMaxStr: strA.maxIndex + 1,
      StrAMin: strA.min,
      StrAMinStr: strA.minIndex + 1,
      StrAAvg: strA.avg,
      NCellBal: pack.balancing.filter(Boolean).length,
    },
    groups: Array.from({ length: topology.strings }, (_, s) => {
      const { cellV, cellVMaxMod, cellVMinMod, modT } = stringSummary(pack, topology, s);
      const status = stringStatus(pack, controls, s);
      return {
        StrNMod: topology.modulesPerString,
        StrSt: status.status,
        StrConFail: status.failure,
        StrSoC: pack.soc,
        StrSoH: pack.soh,
        StrA: amps[s] ?? 0,
        StrCellVMax: cellV.max,
        StrCellVMaxMod: cellVMaxMod,
        StrCellVMin: cellV.min,
        StrCellVMinMod: cellVMinMod,
        StrCellVAvg: cellV.avg,
        StrModTmpMax: modT.max,
        StrModTmpMaxMod: modT.maxIndex + 1,
        StrModTmpMin: modT.min,
        StrModTmpMinMod: modT.minIndex + 1,
        StrModTmpAvg: modT.avg,
        StrDisRsn: status.disabledReason,
        StrConSt: status.contactors,
        // The simulated BMS reports its events bank-wide: every string carries the pack's Evt1.
        StrEvt1: namedBits(MODEL_LITHIUM_BANK.group.points.StrEvt1, pack.evt1),
        StrEvt2: 0,
        StrEvtVnd1: 0,
        StrEvtVnd2: 0,
        StrSetEna: controls.strings[s]?.enable ?? null,
        StrSetCon: controls.strings[s]?.connect ?? null,
      };
    }),
    scale: scaleChoices(nameplateOf(pack, topology), cellsPerString(topology)),
  };
}

/** Model 804 of string `s` (0-based): its cells, its modules, its current from the snapshot. */
export function stringImage(pack: PackSnapshot, topology: PackTopology, controls: SunSpecControls, s: number): ModelImage<typeof MODEL_LITHIUM_STRING> {
  const { cellV, cellVMaxMod, cellVMinMod, modT } = stringSummary(pack, topology, s);
  const status = stringStatus(pack, controls, s);
  return {
    points: {
      Idx: s + 1,
      NMod: topology.modulesPerString,
      St: status.status,
      ConFail: status.failure,
      NCellBal: ofString(topology, pack.balancing, s).filter(Boolean).length,
      SoC: pack.soc,
      DoD: 100 - pack.soc,
      NCyc: pack.cycles,
      SoH: pack.soh,
      A: stringCurrents(topology, pack)[s] ?? 0,
      V: sum(ofString(topology, pack.cellVoltages, s)),
      CellVMax: cellV.max,
      CellVMaxMod: cellVMaxMod,
      CellVMin: cellV.min,
      CellVMinMod: cellVMinMod,
      CellVAvg: cellV.avg,
      ModTmpMax: modT.max,
      ModTmpMaxMod: modT.maxIndex + 1,
      ModTmpMin: modT.min,
      ModTmpMinMod: modT.minIndex + 1,
      ModTmpAvg: modT.avg,
      ConSt: status.contactors,
      Evt1: namedBits(MODEL_LITHIUM_STRING.points.Evt1, pack.evt1),
      Evt2: 0,
      EvtVnd1: 0,
      EvtVnd2: 0,
      SetEna: controls.strings[s]?.enable ?? null,
      SetCon: controls.strings[s]?.connect ?? null,
    },
    groups: Array.from({ length: topology.modulesPerString }, (_, m) => {
      const g = s * topology.modulesPerString + m;
      const v = extremes(ofModule(topology, pack.cellVoltages, g));
      const t = extremes(ofModule(topology, pack.cellTemperatures, g));
      return {
        ModNCell: topology.cellsPerModule,
        ModSoC: pack.soc,
        ModSoH: pack.soh,
        ModCellVMax: v.max,
        ModCellVMaxCell: v.maxIndex + 1,
        ModCellVMin: v.min,
        ModCellVMinCell: v.minIndex + 1,
        ModCellVAvg: v.avg,
        ModCellTmpMax: t.max,
        ModCellTmpMaxCell: t.maxIndex + 1,
        ModCellTmpMin: t.min,
        ModCellTmpMinCell: t.minIndex + 1,
        ModCellTmpAvg: t.avg,
      };
    }),
    scale: scaleChoices(nameplateOf(pack, topology), cellsPerString(topology)),
  };
}

/** Model 805 of module `g` (0-based, string-major): every cell's voltage, temperature and balancing. */
export function moduleImage(identity: PackIdentity, pack: PackSnapshot, topology: PackTopology, g: number): ModelImage<typeof MODEL_LITHIUM_MODULE> {
  const voltages = ofModule(topology, pack.cellVoltages, g);
  const temperatures = ofModule(topology, pack.cellTemperatures, g);
  const balancing = ofModule(topology, pack.balancing, g);
  const cellV = extremes(voltages);
  const cellT = extremes(temperatures);
  const at = modulePosition(topology, g);
  const single = topology.strings * topology.modulesPerString === 1;
  return {
    points: {
      StrIdx: at.string,
      ModIdx: at.module,
      NCell: topology.cellsPerModule,
      SoC: pack.soc,
      DoD: 100 - pack.soc,
      SoH: pack.soh,
      NCyc: pack.cycles,
      // The only module of a pack is the pack: its terminal voltage.
      V: single ? pack.packVoltage : sum(voltages),
      CellVMax: cellV.max,
      CellVMaxCell: cellV.maxIndex + 1,
      CellVMin: cellV.min,
      CellVMinCell: cellV.minIndex + 1,
      CellVAvg: cellV.avg,
      CellTmpMax: cellT.max,
      CellTmpMaxCell: cellT.maxIndex + 1,
      CellTmpMin: cellT.min,
      CellTmpMinCell: cellT.minIndex + 1,
      CellTmpAvg: cellT.avg,
      NCellBal: balancing.filter(Boolean).length,
      SN: `${identity.serial}-M${g + 1}`,
    },
    groups: voltages.map((v, i) => ({ CellV: v, CellTmp: temperatures[i] ?? null, CellSt: balancing[i] ? 1 : 0 })),
    scale: scaleChoices(nameplateOf(pack, topology), topology.cellsPerModule),
  };
}
