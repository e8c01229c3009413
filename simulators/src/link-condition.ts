/** How a device's link behaves now; link faults are played by the protocol servers. */
export type LinkCondition =
  | { kind: "ok" }
  /** Communication loss: the device does not answer at all (Modbus: no reply; CAN: no frames). */
  | { kind: "silent" }
  /**
   * A garbled link: per reply, with these probabilities (0–1, drawn from the device's seeded
   * random stream so runs repeat), a bad CRC (RTU) / corrupted frame (SLCAN), a truncated reply,
   * or a reply from the wrong unit ID.
   */
  | { kind: "garbled"; crcErrorRate: number; truncateRate: number; wrongUnitRate: number };
