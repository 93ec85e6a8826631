import { Command } from '../command';
import { evaluateCommand } from './evaluate';
import { explainCommand } from './explain';
import { initCommand } from './init';
import { lintCommand } from './lint';
import { presetCommand } from './preset';
import { reportCommand } from './report';
import { proveCommand } from './prove';
import { sinkServeCommand } from './sink-serve';
import { sinkVerifyCommand } from './sink-verify';
import { sinkImageCommand } from './sink-image';
import { sinkRulesEvalCommand, sinkRulesPresetCommand, sinkRulesValidateCommand } from './sink-rules';
import { validateCommand } from './validate';
import { flagsCommand } from './flags';
import { kubeconfigCommand } from './kubeconfig';
import { certsCommand } from './certs';
import { kindConfigCommand } from './kind-config';
import { kubeadmConfigCommand } from './kubeadm-config';
import { adviseCommand } from './advise';
import { alertsCommand } from './alerts';
import { detectionsCommand } from './detections';
import { staticPodApplyCommand } from './static-pod';

/**
 * Every verb of the `cdk8s-audit` command, in the order `--help` lists them.
 * Add a verb by writing src/cli/commands/<verb>.ts and listing it here.
 */
export const COMMANDS: Command[] = [
  validateCommand,
  lintCommand,
  explainCommand,
  evaluateCommand,
  presetCommand,
  reportCommand,
  proveCommand,
  initCommand,
  flagsCommand,
  kubeconfigCommand,
  certsCommand,
  kindConfigCommand,
  kubeadmConfigCommand,
  staticPodApplyCommand,
  sinkServeCommand,
  sinkVerifyCommand,
  sinkImageCommand,
  adviseCommand,
  alertsCommand,
  sinkRulesValidateCommand,
  sinkRulesPresetCommand,
  sinkRulesEvalCommand,
  detectionsCommand,
];
