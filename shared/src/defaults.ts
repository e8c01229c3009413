/** Default ports and addresses (docs/architecture.md, Contracts). Every port is configurable; 0 = pick a free one. */
export const DEFAULT_PORTS = {
  mqtt: 1883,
  http: 8080,
  simulatorModbus: 5020,
} as const;

export const SUNSPEC_BASE_ADDRESS = 40000;
