/**
 * The names of the compliance presets, for construct props (`ClusterAudit` `presets`,
 * `AuditPolicy.fromPreset`). The CLI takes the same names as strings (`--preset pci-dss`); a unit test
 * keeps this list equal to the preset table.
 */
export enum Preset {
  /** Good practice without a framework: who did what, secrets at Metadata, noisy reads skipped. */
  BASELINE = 'baseline',
  /** CIS Kubernetes Benchmark 1.2.16-1.2.19 and 3.2.1-3.2.2. */
  CIS = 'cis',
  /** PCI DSS v4.0.1 requirement 10. */
  PCI_DSS = 'pci-dss',
  /** HIPAA Security Rule 164.312(b) audit controls. */
  HIPAA = 'hipaa',
  /** GDPR Art. 5(1)(e), 30 and 32: access to personal data, with a retention maximum. */
  GDPR = 'gdpr',
  /** SOC 2 CC7.2. */
  SOC2 = 'soc2',
  /** NIST SP 800-53 AU-2, AU-3, AU-9, AU-11, AU-12. */
  NIST_800_53 = 'nist-800-53',
  /** ISO/IEC 27001:2022 A.8.15. */
  ISO_27001 = 'iso-27001',
}
