import * as kplus from 'cdk8s-plus-28';
import { SINK_USER } from './common';

/**
 * The container securityContext every sink container (and init container) runs with: the distroless
 * "nonroot" user and group, a read-only root file system, no privilege and no escalation, every Linux
 * capability dropped and the runtime's default seccomp profile — the Pod Security Standards' "restricted"
 * profile, which none of the sinks needs more than (they only listen on ports above 1024 and write their own
 * volumes). One place so a new sink cannot forget a field and a hardening change reaches all four sinks.
 */
export function hardenedContainerSecurityContext(): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: SINK_USER,
    group: SINK_USER,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}
