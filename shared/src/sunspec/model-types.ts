/**
 * The shape of a SunSpec model definition, as the official `sunspec/models` JSON describes it
 * (json/schema.json there), reduced to what a Modbus codec needs. The table itself is generated:
 * model-table.ts.
 */

/** The point types of the battery models (1, 802–805), plus the other 16/32-bit SunSpec integers. */
export type PointType =
  | "uint16"
  | "int16"
  | "acc16"
  | "enum16"
  | "bitfield16"
  | "sunssf"
  | "pad"
  | "uint32"
  | "int32"
  | "acc32"
  | "enum32"
  | "bitfield32"
  | "string";

export interface PointDef {
  /** Registers from the model's ID register (fixed block) or from the start of a group instance. */
  readonly offset: number;
  readonly type: PointType;
  /** Registers. */
  readonly size: number;
  readonly label?: string;
  readonly units?: string;
  /** Name of the scale-factor point (a `sunssf` in the same model). */
  readonly sf?: string;
  /** "M" in the definition: a device must implement it (never the "not implemented" value). */
  readonly mandatory: boolean;
  /** "RW" in the definition: a controller may write it. */
  readonly access: "R" | "RW";
  /** "S" in the definition: the value does not change while the device runs. */
  readonly static?: boolean;
  /** Fixed value (the ID point). */
  readonly value?: number;
  /** enum: name → value; bitfield: name → bit number. */
  readonly symbols?: Readonly<Record<string, number>>;
}

/** A repeating group (803 strings, 804 modules, 805 cells). */
export interface GroupDef {
  readonly name: string;
  /** The point of the fixed block that counts the instances, or 0: as many as L holds. */
  readonly count: string | 0;
  /** Offset of the first instance from the model's ID register (2 + the fixed block's L). */
  readonly offset: number;
  /** Registers per instance. */
  readonly size: number;
  readonly points: Readonly<Record<string, PointDef>>;
}

export interface ModelDef {
  readonly id: number;
  readonly name: string;
  readonly label: string;
  /** L of the fixed block alone (registers after ID and L); L = length + size × instances. */
  readonly length: number;
  readonly points: Readonly<Record<string, PointDef>>;
  readonly group?: GroupDef;
}

/** Point names of a model's fixed block (ID and L included). */
export type PointName<M extends ModelDef> = keyof M["points"] & string;

/** Point names of a model's repeating group. */
export type GroupPointName<M extends ModelDef> = M["group"] extends GroupDef ? keyof M["group"]["points"] & string : never;
