"""Runs the shared PyTorch reference bench (torch_train_bench.bench) once and adds its CPU time.

Usage: python3 torch_cpu.py <torch_train_bench.py> <model> <batch> <seconds>
Prints one JSON line: the reference's result plus "cpu_s" (process CPU time of the call, every
thread) and "cpu_steps" (the steps that CPU time covers: warm-up and measured steps), so that
samples per CPU-second can be compared with tfjs's on a machine that other work keeps busy.
"""
import importlib.util
import json
import sys
import time

path, model, batch, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
spec = importlib.util.spec_from_file_location("torch_train_bench", path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
WARMUP = 20
c0 = time.process_time()
r = ref.bench(model, 1, batch, seconds, WARMUP)
r["cpu_s"] = time.process_time() - c0
r["cpu_steps"] = r["steps"] + WARMUP
print(json.dumps(r))
