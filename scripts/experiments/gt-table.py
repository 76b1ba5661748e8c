"""Prints a ground truth's table and noise figures (docs/experiments.md §11) from its
ground-truth.json: python3 gt-table.py EXP/c10-gt2/ground-truth.json"""
import json
import sys

r = json.load(open(sys.argv[1]))
print("| architecture | M" + r["unit"].upper().replace("MMACS", "MACs") + " | M params | branches | stratum | "
      + " | ".join(f"seed {s}" for s in range(r["seeds"])) + " | mean |")
print("|---|---:|---:|---:|---:|" + "---:|" * r["seeds"] + "---:|")
for a in r["architectures"]:
    seeds = " | ".join(f"{v:.2f}" for v in a["retrained"]) or " | ".join("–" for _ in range(r["seeds"]))
    mean = "–" if a["retrained_mean"] is None else f"{a['retrained_mean']:.2f}"
    print(f"| {a['label']} | {a['cost']:.3f} | {a['params'] / 1e6:.3f} | {a['branches']} | {a['stratum']} | {seeds} | {mean} |")
print()
for key in ("overall", "within_strata"):
    snr = r.get(key)
    if snr:
        print(key, json.dumps(snr))
for key in ("ceiling_kendall_tau", "stratified_ceiling_kendall_tau",
            "retraining_agreement_kendall_tau", "baselines", "complete", "wall_seconds"):
    print(key, json.dumps(r.get(key)))
