// `cdk8s-audit/sink-server`: the remote sink program's parts, for tools that embed the receiver or read its
// store (the CLI verbs `sink serve` and `sink verify` are built from them). These do I/O (sockets, files),
// so they are not in the package root. The alert rules file format is in the root ('cdk8s-audit').
export { DEFAULT_AUDIT_PATH, DEFAULT_MAX_BODY_BYTES, SinkServer } from './server';
export type { ListenAddress, SinkServerOptions, SinkTlsMaterial } from './server';
export { Store, StoreError, StoreOpenError } from './store';
export type { AppendResult, StoreOptions } from './store';
export { formatProblem, verifyStore } from './verify';
export type { VerifyOptions, VerifyProblem, VerifyReport } from './verify';
export { MIN_HMAC_KEY_BYTES, SigningKeyError, loadSigningKey, signingKeyFromBytes } from './signing';
export type { SigningAlgorithm, SigningKey } from './signing';
export { GENESIS_HASH, decodeRecord } from './record';
export type { DecodedRecord } from './record';
export { EventListError, checkEventList, parseEventList } from '../sink-contract/event-list';
export type { EventListView, ReceivedEvent, RejectReason } from '../sink-contract/event-list';
export { InMemoryFirstSeen, RulesEngine } from './rules-engine';
export type { AuditEventFields, FirstSeenMemory, SinkAlert } from './rules-engine';
