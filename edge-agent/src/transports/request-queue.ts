/**
 * Runs async jobs one at a time, in call order. One Modbus connection must never carry two
 * requests at once (modbus-serial issues #210, #226; on RS-485 it is physically impossible).
 */
export class RequestQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    // The chain must continue whether this job fails or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
