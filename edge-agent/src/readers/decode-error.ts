/**
 * The device answered, but with values that cannot be decoded as its profile says: a scale factor
 * out of range, a model of the wrong shape, a frame too short. Counted like a bad reply.
 */
export class DecodeError extends Error {
  override readonly name: string = "DecodeError";
}
