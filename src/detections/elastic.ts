import { Detection, DetectionSource, WatchedRequest } from './model';

/**
 * elastic/detection-rules rules under rules/integrations/kubernetes/ (index logs-kubernetes.audit_logs-*), each
 * read at the commit given in its source. Facts restated, not copied. Elastic's fields are the audit event's
 * under `kubernetes.audit.`; its annotation key `authorization_k8s_io/decision` is the integration's rename of
 * `authorization.k8s.io/decision`.
 */
const src = (file: string, commit: string): DetectionSource => ({ file: `elastic/detection-rules rules/integrations/kubernetes/${file}`, version: `commit ${commit}` });
const w = (resource: string, verbs: string[], group = ''): WatchedRequest => ({ verbs, group, resource });
const DECISION = 'annotations[authorization.k8s.io/decision]';
const elastic = (name: string, source: DetectionSource, watches: WatchedRequest[], reads: string[]): Detection => ({ ruleSet: 'elastic', name, source, watches, reads });

export const ELASTIC_DETECTIONS: readonly Detection[] = [
  elastic('Kubernetes Privileged Pod Created', src('privilege_escalation_privileged_pod_created.toml', '0668a4f4'), [w('pods', ['create'])],
    [DECISION, 'objectRef.resource', 'verb', 'requestObject.spec.containers[].securityContext.privileged', 'requestObject.spec.containers[].image']),
  elastic('Kubernetes Exposed Service Created With Type NodePort', src('persistence_exposed_service_created_with_type_nodeport.toml', '0972ffaa'),
    [w('services', ['create', 'update', 'patch'])], [DECISION, 'objectRef.resource', 'verb', 'requestObject.spec.type']),
  elastic('Kubernetes Events Deleted', src('defense_evasion_events_deleted.toml', '01908a7f'), [w('events', ['delete']), w('events', ['delete'], 'events.k8s.io')],
    ['verb', 'objectRef.resource', 'stage']),
];
