/**
 * Defaults that the sink program (`sink serve`) and the constructs that deploy it (AuditSink) must agree
 * on. Both import them from here, so neither imports the other.
 */

/** 10 MiB: the kube-apiserver's default --audit-webhook-truncate-max-batch-size. */
export const APISERVER_DEFAULT_MAX_BATCH_BYTES = 10 * 1024 * 1024;
/** 16 MiB: above the apiserver's default batch size plus the EventList envelope. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
