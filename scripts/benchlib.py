"""What the benchmark and check scripts share: processes, ports, /proc readings, the
machine's description, and unpacking a package zip into the <name>/<version>/ layout.

Standard library only, like the scripts; they import it from their own folder.
"""

import os, platform, re, socket, statistics, subprocess, zipfile


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def med(values):
    return statistics.median(values)


def machine():
    """CPU model, cores, RAM, kernel, OS and the load average now."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    os_name = platform.platform()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"') + f", Linux {platform.release()}"
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "ram_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "os": os_name, "loadavg_at_start": os.getloadavg()}


def unpack_package_zip(zip_path, dest):
    """<name>-<version>.zip (one top folder <name>-<version>/) -> dest/<name>/<version>/."""
    stem = os.path.basename(zip_path)[:-4]
    name, version = stem.rsplit("-", 1)
    target = os.path.join(dest, name)
    os.makedirs(target, exist_ok=True)
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(target)
    os.rename(os.path.join(target, stem), os.path.join(target, version))


def zip_with_version(src_zip, out_dir, version):
    """A copy of package zip `src_zip` as `version`: the root folder renamed and the
    manifest's `version:` line rewritten, the rest as it was. Returns its path."""
    name = os.path.basename(src_zip)[:-4].rsplit("-", 1)[0]
    out = os.path.join(out_dir, f"{name}-{version}.zip")
    with zipfile.ZipFile(src_zip) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            rest = info.filename.split("/", 1)[1] if "/" in info.filename else ""
            if rest == "manifest.yml":
                data = re.sub(rb"(?m)^version: .*$", f"version: {version}".encode(), data, count=1)
            dst.writestr(f"{name}-{version}/{rest}", data)
    return out
