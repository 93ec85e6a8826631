/** How the store refuses: a commit that cannot be made (the request gets 503), a store that cannot be opened. */

export type StoreErrorReason = 'disk_full' | 'overload' | 'store_error' | 'shutting_down';

/** A commit could not be made; the request must be answered 503 so the apiserver retries. */
export class StoreError extends Error {
  constructor(
    public readonly reason: StoreErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** The store cannot be opened (in use, damaged or modified): the sink must not start on it. */
export class StoreOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreOpenError';
  }
}
