/**
 * A command the agent will not run, and did not start: not allowed on this site, not valid for
 * this device, a value outside the bounds. It ends as `refused` with this message; nothing was
 * written. Any other error while running ends as `failed`.
 */
export class CommandRefusal extends Error {
  override readonly name = "CommandRefusal";
}
