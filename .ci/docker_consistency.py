"""Engine-less checks of docker/: every JSON and YAML file parses, and the Dockerfile, the compose
stack, the Prometheus and Grafana provisioning and the Kubernetes manifests agree with each other
and with the binary (ports, the /healthz and /metrics paths, option names, the shared build
scripts), and .ci/install-deps installs every package CMake looks for. Run by .ci/check-docker
with Debian's python3 (python3-yaml). Usage:
  docker_consistency.py REPO_ROOT [OLLAMA_METER_BINARY]
Prints one line per failed check and exits 1 if any failed."""

import json
import re
import subprocess
import sys
import traceback
from pathlib import Path
from urllib.parse import urlsplit

import yaml

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return bool(condition)


def split_address(text):
    """host:port, [v6]:port or http://host:port -> (host, port); None when there is no port."""
    if "://" in text:
        parts = urlsplit(text)
        return (parts.hostname or "", parts.port) if parts.port else None
    match = re.fullmatch(r"\[?([^\[\]]*?)\]?:(\d+)", text)
    return (match.group(1), int(match.group(2))) if match else None


def load_yaml_documents(path):
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def parse_all(docker):
    """Every JSON and YAML file under docker/ parses; returns {relative path: [documents]}."""
    parsed = {}
    for path in sorted(docker.rglob("*")):
        if path.suffix == ".json":
            try:
                parsed[path.relative_to(docker).as_posix()] = [json.loads(path.read_text())]
            except ValueError as e:
                check(False, f"docker/{path.relative_to(docker)}: invalid JSON: {e}")
        elif path.suffix in (".yaml", ".yml"):
            try:
                docs = load_yaml_documents(path)
                check(docs, f"docker/{path.relative_to(docker)}: no YAML document")
                parsed[path.relative_to(docker).as_posix()] = docs
            except yaml.YAMLError as e:
                check(False, f"docker/{path.relative_to(docker)}: invalid YAML: {e}")
    return parsed


def dockerfile_instructions(path):
    """[(stage index, INSTRUCTION, arguments)], continuation lines joined, comments dropped."""
    instructions, stage, pending = [], -1, ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append((stage, keyword, args.strip()))
    return instructions


def env_pairs(args):
    return dict(re.findall(r"(\w+)=(\S+)", args))


def check_dockerfile(root, facts):
    instructions = dockerfile_instructions(root / "docker/Dockerfile")
    froms = [args for _, kw, args in instructions if kw == "FROM"]
    check(len(froms) >= 2 and froms[0].startswith("debian:12 "),
          "Dockerfile: the build stage must be FROM debian:12")
    check(froms and froms[-1].split()[0] == "debian:12-slim",
          "Dockerfile: the runtime stage must be FROM debian:12-slim")
    runs = [args for stage, kw, args in instructions if kw == "RUN" and stage == 0]
    check(any(re.search(r"(^|\s)\.ci/install-deps build(\s|$)", r) for r in runs),
          "Dockerfile: the build stage must RUN `.ci/install-deps build` (the script CI runs)")
    check(any(re.search(r"(^|\s)\.ci/build\s.*-DMETER_BUILD_TESTS=OFF", r) for r in runs),
          "Dockerfile: the build stage must RUN `.ci/build ... -DMETER_BUILD_TESTS=OFF`")
    check(re.search(r"option\(METER_BUILD_TESTS\b", (root / "CMakeLists.txt").read_text()),
          "CMakeLists.txt has no METER_BUILD_TESTS option for the image build to turn off")

    final = max(stage for stage, _, _ in instructions)
    env = {}
    for stage, kw, args in instructions:
        if kw == "ENV" and stage == final:
            env.update(env_pairs(args))
    listen = split_address(env.get("OLLAMA_METER_LISTEN", ""))
    exposed = [int(p.split("/")[0]) for s, kw, a in instructions if kw == "EXPOSE" and s == final
               for p in a.split()]
    if check(listen, "Dockerfile: ENV OLLAMA_METER_LISTEN=HOST:PORT missing in the runtime stage"):
        check(listen[0] in ("0.0.0.0", "::"),
              "Dockerfile: OLLAMA_METER_LISTEN must bind all interfaces inside the container")
        check(exposed == [listen[1]],
              f"Dockerfile: EXPOSE {exposed} differs from OLLAMA_METER_LISTEN port {listen[1]}")
        facts["image_port"] = listen[1]
    facts["env_names"].update(n for n in env if n.startswith("OLLAMA_METER_"))

    users = [args for stage, kw, args in instructions if kw == "USER" and stage == final]
    uid = users[-1].split(":")[0] if users else "0"
    check(uid.isdigit() and int(uid) != 0,
          "Dockerfile: the runtime stage must end with a numeric non-root USER")
    facts["image_uid"] = int(uid) if uid.isdigit() else None

    healthchecks = [args for stage, kw, args in instructions if kw == "HEALTHCHECK"]
    if check(len(healthchecks) == 1, "Dockerfile: exactly one HEALTHCHECK expected"):
        command = re.search(r"CMD\s+(\[.*\])", healthchecks[0])
        if check(command, "Dockerfile: HEALTHCHECK must use CMD in exec form"):
            facts["image_healthcheck"] = json.loads(command.group(1))
    copies = {}
    for stage, kw, args in instructions:
        if kw == "COPY" and "--from" not in args:
            words = args.split()
            for source in words[:-1]:
                copies[source.rstrip("/")] = words[-1]
    script = next((src for src, dst in copies.items()
                   if facts.get("image_healthcheck", [None])[0] == dst), None)
    if check(script, "Dockerfile: the HEALTHCHECK command is not a file COPY'd from the context"):
        check("/healthz" in (root / script).read_text(), f"{script} does not request /healthz")

    check_build_context(root, copies, instructions)


def check_build_context(root, copies, instructions):
    """Everything the build needs is COPY'd, and the allowlist .dockerignore lets it through."""
    cmake = (root / "CMakeLists.txt").read_text()
    outside_tests = re.sub(r"if\(METER_BUILD_TESTS\).*?endif\(\)", "", cmake, flags=re.S)
    for subdir in re.findall(r"add_subdirectory\((\w+)\)", outside_tests):
        check(subdir in copies, f"Dockerfile: {subdir}/ is built but never COPY'd into the image")
    check("CMakeLists.txt" in copies, "Dockerfile: CMakeLists.txt is never COPY'd")
    ignore = root / "docker/Dockerfile.dockerignore"
    if not check(ignore.is_file(), "docker/Dockerfile.dockerignore is missing"):
        return
    lines = [l.strip() for l in ignore.read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    check(lines[:1] == ["*"], "Dockerfile.dockerignore must start with `*` (an allowlist)")
    allowed = {l[1:].rstrip("/") for l in lines if l.startswith("!")}
    for source in copies:
        check(source in allowed, f"Dockerfile COPYs {source} but Dockerfile.dockerignore drops it")
        check((root / source).exists(), f"Dockerfile COPYs {source}, which does not exist")
    for entry in allowed:
        check(not re.match(r"(build|\.git|tests|bench)\b", entry),
              f"Dockerfile.dockerignore lets {entry} into the build context")


def service_healthcheck(service, facts, name):
    if "healthcheck" in service:
        return service["healthcheck"].get("test")
    return facts.get("image_healthcheck") if name == "ollama-meter" else None


def check_compose(root, parsed, facts):
    compose = parsed.get("compose.yaml", [{}])[0]
    services = compose.get("services", {})
    for name in ("ollama", "ollama-meter", "prometheus", "grafana"):
        check(name in services, f"compose.yaml: service {name} missing")
    if len(services) < 4 or not all(n in services for n in ("ollama", "ollama-meter")):
        return
    ollama, meter = services["ollama"], services["ollama-meter"]
    check("ports" not in ollama, "compose.yaml: ollama must not be published (only the meter is)")
    check(str(ollama.get("image", "")).split(":-")[-1].startswith("ollama/ollama"),
          "compose.yaml: ollama must run the official ollama/ollama image")
    check(any(str(v).endswith(":/root/.ollama") for v in ollama.get("volumes", [])),
          "compose.yaml: ollama's models (/root/.ollama) need a volume")

    env = meter.get("environment", {})
    listen = split_address(str(env.get("OLLAMA_METER_LISTEN", "")))
    upstream = split_address(str(env.get("OLLAMA_METER_UPSTREAM", "")))
    facts["env_names"].update(n for n in env if n.startswith("OLLAMA_METER_"))
    if check(listen, "compose.yaml: ollama-meter needs OLLAMA_METER_LISTEN=HOST:PORT"):
        container_ports = [int(str(p).split(":")[-1].split("/")[0]) for p in meter.get("ports", [])]
        check(container_ports == [listen[1]],
              f"compose.yaml: ollama-meter publishes {container_ports}, listens on {listen[1]}")
        check(listen[1] == facts.get("image_port"),
              "compose.yaml: ollama-meter's port differs from the Dockerfile's")
        facts["compose_meter_port"] = listen[1]
    check(upstream == ("ollama", 11434),
          "compose.yaml: OLLAMA_METER_UPSTREAM must be http://ollama:11434 (the ollama service)")
    check(meter.get("build", {}).get("dockerfile") == "docker/Dockerfile"
          and (root / "docker" / meter.get("build", {}).get("context", "")).resolve() == root,
          "compose.yaml: ollama-meter must build docker/Dockerfile with the repository as context")
    if "healthcheck" in meter:
        check(meter["healthcheck"].get("test", [])[1:] == facts.get("image_healthcheck"),
              "compose.yaml: ollama-meter's healthcheck differs from the Dockerfile's HEALTHCHECK")

    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            check(dependency in services, f"compose.yaml: {name} depends on unknown {dependency}")
            if isinstance(spec, dict) and spec.get("condition") == "service_healthy":
                check(service_healthcheck(services.get(dependency, {}), facts, dependency),
                      f"compose.yaml: {name} waits for {dependency} to be healthy, "
                      f"which has no healthcheck")
    check((meter.get("depends_on") or {}).get("ollama", {}).get("condition") == "service_healthy",
          "compose.yaml: ollama-meter must wait for a healthy ollama")

    declared = set(compose.get("volumes") or {})
    used = {str(v).split(":")[0] for s in services.values() for v in s.get("volumes", [])
            if not str(v).startswith((".", "/"))}
    check(used == declared, f"compose.yaml: named volumes used {sorted(used)} "
                            f"differ from those declared {sorted(declared)}")
    for s in services.values():
        for v in s.get("volumes", []):
            source = str(v).split(":")[0]
            if source.startswith("."):
                check((root / "docker" / source).exists(),
                      f"compose.yaml mounts {source}, which does not exist under docker/")
    facts["compose"] = compose


def mounts(service):
    """{container path: host path relative to docker/} for bind mounts."""
    result = {}
    for v in service.get("volumes", []):
        parts = str(v).split(":")
        if parts[0].startswith("."):
            result[parts[1]] = parts[0]
    return result


def host_path(root, service, container_path):
    for target, source in sorted(mounts(service).items(), key=lambda kv: -len(kv[0])):
        if container_path == target or container_path.startswith(target + "/"):
            return root / "docker" / (source + container_path[len(target):])
    return None


def check_prometheus(root, parsed, facts):
    services = facts.get("compose", {}).get("services", {})
    prometheus = services.get("prometheus", {})
    config_mount = host_path(root, prometheus, "/etc/prometheus/prometheus.yml")
    check(config_mount and config_mount.resolve() == root / "docker/prometheus/prometheus.yml",
          "compose.yaml: prometheus must mount ./prometheus/prometheus.yml at "
          "/etc/prometheus/prometheus.yml")
    config = parsed.get("prometheus/prometheus.yml", [{}])[0]
    meter_jobs = []
    for job in config.get("scrape_configs", []):
        targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
        if any(t.startswith("ollama-meter:") for t in targets):
            meter_jobs.append(job)
            check(f"ollama-meter:{facts.get('compose_meter_port')}" in targets,
                  f"prometheus.yml: job {job.get('job_name')} scrapes {targets}, but the meter "
                  f"listens on {facts.get('compose_meter_port')}")
            check(job.get("metrics_path", "/metrics") == "/metrics",
                  f"prometheus.yml: job {job.get('job_name')} must scrape /metrics")
    if check(meter_jobs, "prometheus.yml: no scrape job targets the ollama-meter service"):
        facts["prometheus_job"] = meter_jobs[0].get("job_name")


def check_grafana(root, parsed, facts):
    services = facts.get("compose", {}).get("services", {})
    grafana = services.get("grafana", {})
    provisioning = host_path(root, grafana, "/etc/grafana/provisioning")
    check(provisioning and provisioning.resolve() == root / "docker/grafana/provisioning",
          "compose.yaml: grafana must mount ./grafana/provisioning at /etc/grafana/provisioning")

    uids = set()
    for doc in parsed.get("grafana/provisioning/datasources/prometheus.yaml", []):
        for source in doc.get("datasources", []):
            uids.add(source.get("uid"))
            if source.get("type") == "prometheus":
                url = urlsplit(str(source.get("url", "")))
                check(url.hostname in services and url.port == 9090,
                      f"grafana datasource url {source.get('url')} is not the compose "
                      f"prometheus service on 9090")

    for doc in parsed.get("grafana/provisioning/dashboards/ollama-meter.yaml", []):
        for provider in doc.get("providers", []):
            path = provider.get("options", {}).get("path", "")
            on_host = host_path(root, grafana, path)
            check(on_host and (on_host / "ollama-meter.json").is_file(),
                  f"grafana dashboard provider path {path} is not where compose mounts "
                  f"./grafana/dashboards (ollama-meter.json not found there)")
    home = grafana.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        on_host = host_path(root, grafana, home)
        check(on_host and on_host.is_file(),
              f"compose.yaml: the home dashboard {home} is not a mounted file")

    dashboard = parsed.get("grafana/dashboards/ollama-meter.json", [{}])[0]
    referenced = set()

    def walk(node):
        if isinstance(node, dict):
            source = node.get("datasource")
            if isinstance(source, dict) and isinstance(source.get("uid"), str):
                referenced.add(source["uid"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    for uid in referenced:
        if not uid.startswith(("$", "--")) and uid != "grafana":
            check(uid in uids, f"dashboard uses datasource uid {uid}, which is not provisioned")


def check_kubernetes(root, parsed, facts):
    kdir = root / "docker/kubernetes"
    kustomization = parsed.get("kubernetes/kustomization.yaml", [{}])[0]
    files = {p.name for p in kdir.glob("*.yaml")} - {"kustomization.yaml"}
    check(set(kustomization.get("resources", [])) == files,
          f"kustomization.yaml resources {kustomization.get('resources')} "
          f"differ from {sorted(files)}")
    objects = {}
    for name in files:
        for doc in parsed.get(f"kubernetes/{name}", []):
            objects[doc.get("kind")] = doc
    for kind in ("Deployment", "Service", "ServiceMonitor"):
        check(kind in objects, f"kubernetes: no {kind}")
    if not all(kind in objects for kind in ("Deployment", "Service", "ServiceMonitor")):
        return
    deployment, service = objects["Deployment"], objects["Service"]
    monitor = objects["ServiceMonitor"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"].get("labels", {})
    selector = deployment["spec"]["selector"].get("matchLabels", {})
    check(selector.items() <= pod_labels.items(), "Deployment selector does not match its pods")
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    for c in containers.values():
        requests = c.get("resources", {}).get("requests", {})
        check("cpu" in requests and "memory" in requests,
              f"Deployment: container {c['name']} needs cpu and memory requests")
    meter = containers.get("ollama-meter")
    ollama = containers.get("ollama")
    if not check(meter and ollama, "Deployment: containers ollama and ollama-meter expected"):
        return
    meter_env = {e["name"]: e.get("value", "") for e in meter.get("env", [])}
    ollama_env = {e["name"]: e.get("value", "") for e in ollama.get("env", [])}
    facts["env_names"].update(n for n in meter_env if n.startswith("OLLAMA_METER_"))
    listen = split_address(meter_env.get("OLLAMA_METER_LISTEN", ""))
    upstream = split_address(meter_env.get("OLLAMA_METER_UPSTREAM", ""))
    ollama_host = split_address(ollama_env.get("OLLAMA_HOST", ""))
    check(ollama_host and ollama_host[0] in ("127.0.0.1", "::1", "localhost"),
          "Deployment: Ollama must listen on loopback (OLLAMA_HOST) so only the meter reaches it")
    check(upstream and ollama_host and upstream[1] == ollama_host[1]
          and upstream[0] in ("127.0.0.1", "::1", "localhost"),
          "Deployment: OLLAMA_METER_UPSTREAM must be Ollama's loopback address from OLLAMA_HOST")
    ports = {p.get("name"): p["containerPort"] for p in meter.get("ports", [])}
    if check(listen and ports.get("http") == listen[1],
             f"Deployment: the meter's port `http` {ports.get('http')} differs from "
             f"OLLAMA_METER_LISTEN {meter_env.get('OLLAMA_METER_LISTEN')}"):
        check(not ollama_host or listen[1] != ollama_host[1],
              "Deployment: the meter and Ollama cannot share a port in one pod")
    for probe in ("readinessProbe", "livenessProbe"):
        get = meter.get(probe, {}).get("httpGet", {})
        check(get.get("path") == "/healthz" and get.get("port") in ("http", ports.get("http")),
              f"Deployment: the meter's {probe} must GET /healthz on port http")
    context = meter.get("securityContext", {})
    check(context.get("runAsNonRoot") and context.get("runAsUser") == facts.get("image_uid"),
          "Deployment: the meter must run as non-root with the image's uid")
    check(meter.get("image", "").split(":")[0] in
          {i.get("name") for i in kustomization.get("images", [])},
          "kustomization.yaml: no `images` entry for the meter's image")

    check(service["spec"].get("selector", {}).items() <= pod_labels.items(),
          "Service selector does not match the pods")
    service_ports = {p.get("name"): p for p in service["spec"].get("ports", [])}
    http = service_ports.get("http", {})
    check(http.get("targetPort") in ("http", ports.get("http")),
          "Service: port `http` must target the meter's `http` port")
    check(monitor["spec"]["selector"].get("matchLabels", {}).items()
          <= service["metadata"].get("labels", {}).items(),
          "ServiceMonitor selector does not match the Service's labels")
    endpoints = monitor["spec"].get("endpoints", [])
    check(any(e.get("port") == "http" and e.get("path") == "/metrics" for e in endpoints),
          "ServiceMonitor must scrape /metrics on port http")
    jobs = {r.get("replacement") for e in endpoints for r in e.get("relabelings", [])
            if r.get("targetLabel") == "job"}
    if facts.get("prometheus_job"):
        check(jobs == {facts["prometheus_job"]},
              f"ServiceMonitor sets job {sorted(jobs)}, the compose Prometheus uses "
              f"{facts['prometheus_job']}: the dashboard would differ")


def find_packages(cmake_files):
    names = set()
    for path in cmake_files:
        text = re.sub(r"#.*", "", path.read_text())
        names.update(re.findall(r"find_package\(\s*([\w.+-]+)", text))
    return names


def cmake_package_owners():
    """{CMake config or Find-module file name: Debian package} for what is installed here."""
    run = subprocess.run(["dpkg-query", "-S", "*/cmake/*onfig.cmake", "*/Modules/Find*.cmake"],
                         capture_output=True, text=True)
    owners = {}
    for line in run.stdout.splitlines():
        packages, _, path = line.partition(": ")
        owners.setdefault(Path(path).name, packages.split(",")[0].split(":")[0].strip())
    return owners


def check_install_sets(root):
    """Each find_package of the image build resolves to a package of `.ci/install-deps build`, and
    those of tests/ and bench/ to `build` plus `test` (cmake-data comes with cmake)."""
    def listed(mode):
        run = subprocess.run(["bash", str(root / ".ci/install-deps"), "--list", mode],
                             capture_output=True, text=True)
        return set(run.stdout.split()) | {"cmake-data"}

    cmake = (root / "CMakeLists.txt").read_text()
    outside_tests = re.sub(r"if\(METER_BUILD_TESTS\).*?endif\(\)", "", cmake, flags=re.S)
    image_dirs = re.findall(r"add_subdirectory\((\w+)\)", outside_tests)
    all_dirs = re.findall(r"add_subdirectory\((\w+)\)", cmake)
    image_files = [root / "CMakeLists.txt"] + [root / d / "CMakeLists.txt" for d in image_dirs]
    test_files = [f for d in all_dirs if d not in image_dirs
                  for f in (root / d).rglob("CMakeLists.txt")]
    owners = cmake_package_owners()
    for files, mode in ((image_files, "build"), (test_files, "all")):
        allowed = listed(mode)
        for name in sorted(find_packages(f for f in files if f.is_file())):
            config = owners.get(f"{name}Config.cmake") or owners.get(f"{name.lower()}-config.cmake")
            owner = config or owners.get(f"Find{name}.cmake")
            if check(owner, f"find_package({name}): no installed package provides its CMake "
                            f"config here"):
                check(owner in allowed, f"find_package({name}) needs Debian package {owner}, "
                                        f"missing from `.ci/install-deps {mode}`")


def check_binary_agrees(root, facts, binary):
    """The paths and option names used here exist in the proxy (its sources, or --help)."""
    sources = "".join(p.read_text() for p in sorted((root / "proxy").glob("*.[ch]pp")))
    for path in ("/healthz", "/metrics"):
        check(f'"{path}"' in sources, f"proxy/ never serves {path}")
    config_source = (root / "proxy/config.cpp").read_text()
    help_text = ""
    if binary:
        run = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
        help_text = run.stdout + run.stderr
    for env_name in sorted(facts["env_names"]):
        option = env_name[len("OLLAMA_METER_"):].lower().replace("_", "-")
        in_source = re.search(rf'"(--)?{re.escape(option)}"|"{env_name}"', config_source)
        check(in_source, f"{env_name} is used in docker/ but proxy/config.cpp has no "
                         f"option {option}")
        if binary:
            check(f"--{option}" in help_text, f"{binary} --help does not list --{option}")


def main():
    root = Path(sys.argv[1]).resolve()
    binary = sys.argv[2] if len(sys.argv) > 2 else None
    facts = {"env_names": set()}
    parsed = parse_all(root / "docker")
    steps = [
        lambda: check_dockerfile(root, facts),
        lambda: check_compose(root, parsed, facts),
        lambda: check_prometheus(root, parsed, facts),
        lambda: check_grafana(root, parsed, facts),
        lambda: check_kubernetes(root, parsed, facts),
        lambda: check_binary_agrees(root, facts, binary),
        lambda: check_install_sets(root),
    ]
    for step in steps:
        try:
            step()
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
            # A file shaped unlike what the checks expect is a failure to look at, not a crash
            # that hides the remaining checks.
            check(False, f"unexpected structure ({type(e).__name__}: {e}) near "
                         f"{traceback.extract_tb(e.__traceback__)[-1].line}")
    for message in failures:
        print(f"FAIL: {message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
