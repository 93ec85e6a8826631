import { Command, ExitCode, InputError, ParsedArgs, UsageError, choiceOption, kubernetesVersionOption, stringOption } from '../command';
import { write } from '../io';
import { loadPolicyFile } from '../policy-input';
import { RequestAttributes, explainRequest, formatExplanation, parseRequestPath, toRequestAttributes } from '../../policy';

export const explainCommand: Command = {
  name: 'explain',
  summary: 'show which rule and level a request gets, and why earlier rules missed',
  help: `Usage: cdk8s-audit explain FILE --verb VERB (--url PATH | --resource RES [...]) [options]

Evaluates one request against the policy as the kube-apiserver's policy checker does and prints
each rule tried, why it missed, and the decision (level, omitted stages, managedFields).

Describe the request with a URL (parsed as the apiserver does):
  --url PATH               e.g. /api/v1/namespaces/default/secrets/db or /healthz
or with its parts:
  --resource RES[/SUB]     e.g. pods, pods/exec, deployments
  --api-group G            API group ("" or omitted = core)
  --api-version V          default v1
  --namespace NS           omitted = cluster scope
  --name NAME
or as JSON:
  --request JSON           {"verb":"get","resourceRequest":true,"path":"/api/v1/pods","resource":"pods",...}

Always:
  --verb VERB              get, list, watch, create, update, patch, delete, deletecollection (or an HTTP verb for URLs)
  --user NAME              authenticated user (omit for a request without a user)
  --group G                a group of the user (repeatable)
  --kubernetes-version V   version to validate the policy for
  --format text|json       output format (default text)

Example:
  cdk8s-audit explain policy.yaml --verb get --url /api/v1/namespaces/prod/secrets/db --user alice --group dev`,
  options: {
    verb: { type: 'string' },
    url: { type: 'string' },
    resource: { type: 'string' },
    'api-group': { type: 'string' },
    'api-version': { type: 'string' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    request: { type: 'string' },
    user: { type: 'string' },
    group: { type: 'string', multiple: true },
    'kubernetes-version': { type: 'string' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('explain needs exactly one policy FILE');
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const request = requestFromArgs(args);
    const policy = await loadPolicyFile(args.positionals[0], io, kubernetesVersionOption(args));
    const explanation = explainRequest(policy.document, request);
    if (format === 'json') write(io.stdout, JSON.stringify({ request, ...explanation }, null, 2));
    else write(io.stdout, formatExplanation(policy.document, request, explanation));
    return ExitCode.OK;
  },
};

function requestFromArgs(args: ParsedArgs): RequestAttributes {
  const json = stringOption(args, 'request');
  if (json !== undefined) {
    try {
      return toRequestAttributes(JSON.parse(json));
    } catch (e) {
      throw new InputError(`--request: ${(e as Error).message}`);
    }
  }
  const verb = stringOption(args, 'verb');
  if (!verb) throw new UsageError('explain needs --verb (e.g. --verb get), or --request JSON');
  const userName = stringOption(args, 'user');
  const groups = (args.values.group as string[] | undefined) ?? [];
  if (!userName && groups.length) throw new UsageError('--group needs --user: a request without a user has no groups');
  const user = userName ? { user: { name: userName, groups } } : {};
  const url = stringOption(args, 'url');
  const resourceArg = stringOption(args, 'resource');
  if (url !== undefined && resourceArg !== undefined) throw new UsageError('give either --url or --resource, not both');
  if (url !== undefined) {
    if (!url.startsWith('/')) throw new UsageError(`--url ${JSON.stringify(url)} must be a path starting with '/'`);
    return { ...parseRequestPath(url), verb, ...user };
  }
  if (resourceArg === undefined) throw new UsageError('describe the request with --url PATH or --resource RES');
  const [resource, subresource] = resourceArg.split('/', 2);
  const apiGroup = stringOption(args, 'api-group') ?? '';
  const apiVersion = stringOption(args, 'api-version') ?? 'v1';
  const namespace = stringOption(args, 'namespace') ?? '';
  const name = stringOption(args, 'name') ?? '';
  const path = [apiGroup ? `/apis/${apiGroup}/${apiVersion}` : `/api/${apiVersion}`, namespace ? `/namespaces/${namespace}` : '', `/${resource}`, name ? `/${name}` : '', name && subresource ? `/${subresource}` : ''].join('');
  return {
    verb, resourceRequest: true, path, apiGroup, apiVersion, namespace, resource,
    ...(subresource ? { subresource } : {}), ...(name ? { name } : {}), ...user,
  };
}
