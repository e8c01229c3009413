/**
 * Runs async jobs one at a time, in call order. One Modbus connection must never carry two
 * requests at once (modbus-serial issues #210, #226; on RS-485 it is physically impossible).
 */
export class RequestQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    // The next job runs whether this one fails or not.
    const result = this.tail.then(job, job);
    this.tail = result;
    // The caller hears one turn later than the next job starts: when a reply comes, the next
    // request (another pack's, queued meanwhile) goes out before the caller decodes the reply.
    return result.then((value) => value);
  }
}
