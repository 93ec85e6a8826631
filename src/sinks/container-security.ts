import * as kplus from 'cdk8s-plus-28';
import { SINK_USER } from './common';

/**
 * The container securityContext every sink container (and init container) runs with: the distroless
 * "nonroot" user and group, a read-only root file system, no privilege and no escalation. One place so a
 * new sink cannot forget a field and a hardening change reaches all four sinks at once.
 *
 * Capabilities and the seccomp profile are left to the runtime's defaults today (cdk8s-plus-28 renders
 * neither unless set); changing that here changes every sink's manifest.
 */
export function hardenedContainerSecurityContext(): kplus.ContainerSecurityContextProps {
  return { ensureNonRoot: true, user: SINK_USER, group: SINK_USER, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false };
}
