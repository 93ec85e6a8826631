/*
 * The evidence report's pure API (no I/O; `cdk8s-audit report` and `prove` both judge through it):
 *
 *   judgeEvidence(preset: ComposedPreset, input: {
 *     kubernetesVersion: string;
 *     events?: Iterable<LoggedEvent | { event: LoggedEvent; position?: EventPosition }>;
 *     inputs?: InputSummary[];              // absent together with events = a policy-only report
 *     policy?: { source: string; document: PolicyDocument };   // the deployed policy; absent = the preset's
 *     settings?: JudgedSettings;            // deployed apiserver flags + sink retention; absent = the preset's
 *     now?: Date;
 *   }): EvidenceReport
 *   new EvidenceJudge(preset, options).add(event, position?) … .finish(inputs?)   // streaming, bounded memory
 *   reportExitCode(report, { allowMissingEvidence?: boolean }): 0 | 1
 *   renderReportMarkdown(report) / renderReportHtml(report) / renderReportJson(report): string
 *
 * Streaming readers (files, directories of rotations, .gz, stdin, the sink store) are in ./inputs
 * (not re-exported here: they do I/O).
 */
export * from './evidence';
export * from './render';
