import { InputError, OptionSpec, ParsedArgs, UsageError, stringOption } from './command';
import { DETECTION_RULE_SETS, DetectionRuleSet } from '../detections';
import { BodyLevel, ComposedPreset, PRESET_NAMES, PresetConflictError, getPreset } from '../presets';

/** Options shared by the verbs that take `--preset`. */
export const PRESET_OPTIONS: OptionSpec = {
  preset: { type: 'string' },
  'body-level': { type: 'string' },
  'audit-namespace': { type: 'string' },
  'exclude-namespace': { type: 'string', multiple: true },
  'exclude-user': { type: 'string', multiple: true },
  detections: { type: 'string' },
};

export const PRESET_OPTIONS_HELP = `  --preset NAME[,NAME]     compliance preset(s): ${PRESET_NAMES.join(', ')}
  --body-level L           write bodies: metadata, write-bodies, all-bodies (secrets stay at Metadata)
  --audit-namespace NS     namespace of the audit sink (default audit)
  --exclude-namespace NS   do not record requests in NS (repeatable)
  --exclude-user USER      do not record requests by USER (repeatable)
  --detections SET[,SET]   raise the levels these detection rules need (falco), never to secret bodies`;

const BODY_LEVELS = Object.values(BodyLevel) as string[];

/** The composed preset named by the options; usage errors for unknown names, exit 1 for conflicts. */
export function presetFromArgs(args: ParsedArgs, names = stringOption(args, 'preset'), kubernetesVersion?: string): ComposedPreset {
  if (!names) throw new UsageError(`--preset is required; valid presets: ${PRESET_NAMES.join(', ')}`);
  const unknown = names.split(',').map((n) => n.trim()).filter((n) => n && !PRESET_NAMES.includes(n));
  if (unknown.length) throw new InputError(`unknown preset ${unknown.map((n) => JSON.stringify(n)).join(', ')}; valid presets: ${PRESET_NAMES.join(', ')}`);
  const bodyLevel = stringOption(args, 'body-level');
  if (bodyLevel !== undefined && !BODY_LEVELS.includes(bodyLevel)) throw new UsageError(`--body-level ${JSON.stringify(bodyLevel)} is not one of: ${BODY_LEVELS.join(', ')}`);
  const detections = stringOption(args, 'detections')?.split(',').map((d) => d.trim()).filter(Boolean);
  const badSet = detections?.find((d) => !(DETECTION_RULE_SETS as readonly string[]).includes(d));
  if (badSet !== undefined) throw new UsageError(`--detections ${JSON.stringify(badSet)} is not one of: ${DETECTION_RULE_SETS.join(', ')}`);
  try {
    return getPreset(names, {
      detections: detections as DetectionRuleSet[] | undefined,
      bodyLevel: bodyLevel as BodyLevel | undefined,
      auditNamespace: stringOption(args, 'audit-namespace'),
      excludeNamespaces: args.values['exclude-namespace'] as string[] | undefined,
      excludeUsers: args.values['exclude-user'] as string[] | undefined,
      kubernetesVersion,
    });
  } catch (e) {
    if (e instanceof PresetConflictError) throw new InputError(e.message);
    throw e;
  }
}
