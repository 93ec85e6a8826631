/** What every section gets, and what it gives back. */
import type { Figure } from './stats';

export interface BenchContext {
  readonly quick: boolean;
  /** Kubernetes version of the apiserver the sections start. */
  readonly kubernetesVersion: string;
  /** A temp dir that lives for the whole run (removed at exit). */
  readonly tmpDir: string;
  /** Files one section leaves for another (e.g. the PCI DSS audit log for the evaluator). */
  readonly artifacts: Map<string, string>;
  log(message: string): void;
}

/** A Markdown table of details that are not figures. */
export interface DetailTable {
  readonly title: string;
  readonly columns: string[];
  readonly rows: (string | number)[][];
}

export interface SectionResult {
  readonly figures: Figure[];
  readonly tables?: DetailTable[];
  /** Facts about how the section ran (which receiver, sizes, caveats). */
  readonly notes?: string[];
  /** Raw per-run data for latest.json. */
  readonly details?: unknown;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}

export const ARTIFACT_PCI_LOG = 'pci-dss-audit-log';
