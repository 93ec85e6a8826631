import { InputError, OptionSpec, ParsedArgs, UsageError, stringOption } from './command';
import { DETECTION_RULE_SETS, DetectionRuleSet } from '../detections';
import { BodyLevel, ComposedPreset, GDPR_MAX_RETENTION_DAYS, PRESET_NAMES, PresetConflictError, RetentionPrecedence, getPreset } from '../presets';
import { GroupResources } from '../policy/model';
import { KubernetesVersion } from '../core/kubernetes-version';

/** Options shared by the verbs that take `--preset`. */
export const PRESET_OPTIONS: OptionSpec = {
  preset: { type: 'string' },
  'body-level': { type: 'string' },
  'audit-namespace': { type: 'string' },
  'exclude-namespace': { type: 'string', multiple: true },
  'exclude-user': { type: 'string', multiple: true },
  detections: { type: 'string' },
  'personal-data-namespace': { type: 'string', multiple: true },
  'personal-data-resource': { type: 'string', multiple: true },
  'max-retention-days': { type: 'string' },
  'retention-precedence': { type: 'string' },
};

export const PRESET_OPTIONS_HELP = `  --preset NAME[,NAME]     compliance preset(s): ${PRESET_NAMES.join(', ')}
  --body-level L           write bodies: metadata, write-bodies, all-bodies (secrets stay at Metadata)
  --audit-namespace NS     namespace of the audit sink (default audit)
  --exclude-namespace NS   do not record requests in NS (repeatable)
  --exclude-user USER      do not record requests by USER (repeatable)
  --detections SET[,SET]   raise the levels these detection rules need (${DETECTION_RULE_SETS.join(', ')}), never to secret bodies
  --personal-data-namespace NS    gdpr: NS holds personal data; its requests at Metadata, never bodies (repeatable)
  --personal-data-resource R[.GROUP]  gdpr: this resource holds personal data, e.g. contacts.crm.example.com (repeatable)
  --max-retention-days N   gdpr: keep audit records at most N days (default ${GDPR_MAX_RETENTION_DAYS})
  --retention-precedence minimum|maximum  which wins when a maximum (gdpr) is below a minimum (pci-dss, hipaa…)`;

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
  const maxDays = stringOption(args, 'max-retention-days');
  if (maxDays !== undefined && !/^[1-9]\d*$/.test(maxDays)) throw new UsageError(`--max-retention-days ${JSON.stringify(maxDays)} is not a whole number of days ≥ 1, e.g. 183`);
  const precedence = stringOption(args, 'retention-precedence');
  const PRECEDENCES = Object.values(RetentionPrecedence) as string[];
  if (precedence !== undefined && !PRECEDENCES.includes(precedence)) throw new UsageError(`--retention-precedence ${JSON.stringify(precedence)} is not one of: ${PRECEDENCES.join(', ')}`);
  const resources = ((args.values['personal-data-resource'] as string[] | undefined) ?? []).map(personalDataResource);
  try {
    return getPreset(names, {
      personalDataNamespaces: args.values['personal-data-namespace'] as string[] | undefined,
      personalDataResources: resources.length ? resources : undefined,
      maxRetentionDays: maxDays === undefined ? undefined : Number(maxDays),
      retentionPrecedence: precedence as RetentionPrecedence | undefined,
      detections: detections as DetectionRuleSet[] | undefined,
      bodyLevel: bodyLevel as BodyLevel | undefined,
      auditNamespace: stringOption(args, 'audit-namespace'),
      excludeNamespaces: args.values['exclude-namespace'] as string[] | undefined,
      excludeUsers: args.values['exclude-user'] as string[] | undefined,
      kubernetesVersion: kubernetesVersion === undefined ? undefined : KubernetesVersion.of(kubernetesVersion),
    });
  } catch (e) {
    if (e instanceof PresetConflictError || /^(personalData|maxRetentionDays)/.test((e as Error).message)) throw new InputError((e as Error).message);
    throw e;
  }
}

/** `contacts.crm.example.com` → group crm.example.com, resource contacts; `persistentvolumeclaims` → the core group (kubectl's RESOURCE.GROUP). */
function personalDataResource(text: string): GroupResources {
  const m = /^([a-z0-9][-a-z0-9]*)(?:\.([a-z0-9][-a-z0-9.]*[a-z0-9]))?$/.exec(text);
  if (!m) throw new UsageError(`--personal-data-resource ${JSON.stringify(text)} is not RESOURCE or RESOURCE.GROUP (lowercase plural, e.g. contacts.crm.example.com or persistentvolumeclaims)`);
  return { group: m[2] ?? '', resources: [m[1]] };
}
