"""The example app from Python (app.py, through the jsii-built cdk8s_audit package) synthesises byte for byte
what the TypeScript app (main.ts, `cdk8s synth`) does: manifests, kustomization and the node files.
Only the output directory's own path is normalised (files.yaml names node files by their path from the
working directory). Run by `npm run test:python` (scripts/test-python.sh), which builds the package first."""
import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("app.py")


def run(cmd, env_extra):
    env = {**os.environ, "CDK8S_CHECK_UPGRADE": "false", **env_extra}
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def synth_typescript(out: Path):
    if not (REPO / "lib" / "index.js").exists():
        pytest.fail("lib/ is missing: run `npm run build` first (the example app imports the compiled library)")
    run(["npx", "cdk8s", "synth", "--output", str(out)], {})


def synth_python(out: Path):
    run([sys.executable, str(APP)], {"CDK8S_OUTDIR": str(out)})


def read_tree(root: Path):
    """Every file under root: relative path -> (mode, bytes with root's own path replaced by <outdir>)."""
    names = [str(root), os.path.relpath(root, REPO)]
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            for n in names:
                data = data.replace(n.encode(), b"<outdir>")
            files[str(p.relative_to(root))] = (oct(p.stat().st_mode & 0o777), data)
    return files


def describe_difference(ts, py):
    only_ts, only_py = sorted(ts.keys() - py.keys()), sorted(py.keys() - ts.keys())
    out = []
    if only_ts:
        out.append(f"only in the TypeScript synth: {only_ts}")
    if only_py:
        out.append(f"only in the Python synth: {only_py}")
    for name in sorted(ts.keys() & py.keys()):
        (tmode, tdata), (pmode, pdata) = ts[name], py[name]
        if tmode != pmode:
            out.append(f"{name}: mode {tmode} (TypeScript) != {pmode} (Python)")
        if tdata != pdata:
            diff = difflib.unified_diff(
                tdata.decode(errors="replace").splitlines(), pdata.decode(errors="replace").splitlines(),
                f"typescript/{name}", f"python/{name}", lineterm="", n=2,
            )
            out.append("\n".join(list(diff)[:40]))
    return "\n".join(out)


def test_python_app_synthesises_the_typescript_output(tmp_path):
    ts_out, py_out = tmp_path / "ts", tmp_path / "py"
    synth_typescript(ts_out)
    synth_python(py_out)
    ts, py = read_tree(ts_out), read_tree(py_out)
    # the example app writes manifests, the kustomization and the node files (dist/node)
    assert "kustomization.yaml" in ts and "node/files.yaml" in ts, sorted(ts)
    assert ts == py, describe_difference(ts, py)


def test_construct_errors_reach_python_naming_the_prop(tmp_path):
    """A prop error raised in the library reaches Python as an exception that names the prop and the value."""
    code = (
        "from cdk8s import App, Chart\n"
        "from cdk8s_audit import ClusterAudit, ClusterAuditWebhookProps, WebhookKubeconfigProps\n"
        "ClusterAudit(Chart(App(), 'c'), 'audit', webhook=ClusterAuditWebhookProps(\n"
        "    kubeconfig=WebhookKubeconfigProps(server='http://sink.example:80/audit')))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "CDK8S_OUTDIR": str(tmp_path / "out")})
    assert r.returncode != 0, r.stdout
    assert "webhook.kubeconfig" in r.stderr and "http://sink.example:80/audit" in r.stderr, r.stderr[-2000:]
