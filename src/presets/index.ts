import { BASELINE } from './baseline';
import { CIS } from './cis';
import { GDPR } from './gdpr';
import { ComposedPreset, PresetOptions, composePresets } from './compose';
import { HIPAA } from './hipaa';
import { ISO_27001 } from './iso-27001';
import { NIST_800_53 } from './nist-800-53';
import { PCI_DSS } from './pci-dss';
import { SOC2 } from './soc2';
import { PresetDefinition } from './types';

export * from './types';
export * from './preset-names';
export * from './catalogue';
export * from './compose';
export * from './flags';
export * from './evidence';
export { PROBES, AUDIT_NAMESPACE_DEFAULT } from './probes';
export { GDPR_MAX_RETENTION_DAYS } from './gdpr';

/** Every preset, in the order `preset --list` shows them. */
export const PRESETS: readonly PresetDefinition[] = [BASELINE, CIS, PCI_DSS, HIPAA, GDPR, SOC2, NIST_800_53, ISO_27001];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

/** A preset by name. @throws Error listing the valid names */
export function getPresetDefinition(name: string): PresetDefinition {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown preset ${JSON.stringify(name)}; valid presets: ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** One or more presets (by name) composed with the given options. */
export function getPreset(names: string | readonly string[], options: PresetOptions = {}): ComposedPreset {
  const list = typeof names === 'string' ? names.split(',').map((n) => n.trim()).filter(Boolean) : names;
  return composePresets(list.map(getPresetDefinition), options);
}
