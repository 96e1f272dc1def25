"""Which CPU a benchmark ran on, in words; the standard library only (bench/gpu_summary.py
must run where NumPy cannot be imported).

Hypervisors often name every CPU alike ("AMD EPYC"); the family, model and last-level
cache tell the hosts apart, and the d2l method's dense Adam runs at the speed of that
cache or of memory (docs/threads.md, "When memory sets the pace").
"""
import platform
from pathlib import Path


def cpu_description():
    """``model name (family F model M, L3 SIZE)`` from /proc/cpuinfo and sysfs, as far as they tell."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name") or platform.processor() or platform.machine()
    details = [f"family {fields['cpu family']} model {fields['model']}"] if "cpu family" in fields else []
    try:
        details.append(f"L3 {Path('/sys/devices/system/cpu/cpu0/cache/index3/size').read_text().strip()}")
    except OSError:
        pass
    return f"{cpu} ({', '.join(details)})" if details else cpu
