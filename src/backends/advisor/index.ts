/**
 * The batching advisor for the kube-apiserver's webhook audit backend, by job: model.ts (the apiserver's
 * batching model, its constants and the types), input.ts (input checks), check.ts (what given settings carry
 * and whether they drop events), advise.ts (settings that do not drop, with their formulas), conversions.ts
 * (settings ⇄ flags ⇄ WebhookBackend props), numbers.ts (rounding and printing).
 */
export * from './model';
export { niceDown, niceUp, num } from './numbers';
export { validateAdvisorInput } from './input';
export { checkBatching } from './check';
export { adviseBatching, advisedWebhookProps } from './advise';
export { SETTING_NAMES, settingFlag, settingsFromFlagValues, settingsOfWebhookBackend, settingsToFlags, settingsToFlagValues, webhookPropsFromSettings } from './conversions';
